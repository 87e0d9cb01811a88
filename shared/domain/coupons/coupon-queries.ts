import { NotFoundError, ValidationError } from "../errors.js";
import type {
  CampaignRecord,
  CampaignStore,
  CampaignUseTotals,
  Clock,
  CouponRecord,
  CouponState,
  CouponStore,
  ListPage,
} from "../ports.js";
import { effectiveState } from "./coupon-state.js";

export interface CouponQueryDependencies {
  coupons: CouponStore;
  campaigns: CampaignStore;
  /**
   * A stock's `available_end_time` (epoch ms), the moment its unused coupons expire; undefined when WeChat does not
   * say. Asked only for SENT coupons (a used one cannot expire).
   */
  stockEnd: (stockId: string) => Promise<number | undefined>;
  clock: Clock;
}

/** A coupon record with the state a reader sees (SENT turns EXPIRED once its stock's window has passed). */
export interface CouponView {
  record: CouponRecord;
  state: CouponState;
  availableEndTime?: number;
}

export async function getCoupon(deps: CouponQueryDependencies, couponId: string): Promise<CouponView | undefined> {
  const record = await deps.coupons.get(couponId);
  if (record === undefined) return undefined;
  const end = record.availableEndTime ?? (record.state === "SENT" ? await deps.stockEnd(record.stockId) : undefined);
  return withState(record, end, deps.clock());
}

export interface CampaignCouponQuery {
  limit: number;
  cursor?: string;
  state?: CouponState;
  usedFrom?: number;
  usedTo?: number;
}

/**
 * One page of a campaign's coupons. A campaign has one stock, so its unused coupons expire together, and they share
 * one key range whether stored SENT or EXPIRED (record-rules.ts `couponListOrder`): `state=EXPIRED` lists that range
 * once the stock's window has passed by our clock (all of it, recorded EXPIRED yet or not), `state=SENT` none after.
 * Before that, the range is read and each coupon kept only in the state it shows: an expiry recorded while our clock
 * is behind WeChat's (which served the stock's flow files, so the stock has ended) shows EXPIRED, never SENT; a page
 * may then hold fewer than `limit` coupons with a cursor still to follow. `used_from`/`used_to` select by time of
 * first use and imply `state=USED`. Unknown campaign → NotFoundError on campaign_id.
 */
export async function listCampaignCoupons(
  deps: CouponQueryDependencies,
  campaignId: string,
  query: CampaignCouponQuery,
): Promise<ListPage<CouponView>> {
  const byUse = query.usedFrom !== undefined || query.usedTo !== undefined;
  if (byUse && query.state !== undefined && query.state !== "USED") {
    throw new ValidationError("used_from", "selects used coupons: use it without state, or with state=USED");
  }
  if (query.usedFrom !== undefined && query.usedTo !== undefined && query.usedFrom >= query.usedTo) {
    throw new ValidationError("used_to", "must be after used_from");
  }
  const campaign = await deps.campaigns.get(campaignId);
  if (campaign === undefined) throw new NotFoundError("campaign_id", `no campaign ${campaignId}`);
  const now = deps.clock();
  const ended = async () => {
    const end = await deps.stockEnd(campaign.stockId);
    return { end, passed: end !== undefined && now > end };
  };
  const state = byUse ? "USED" : query.state;
  const unused = state === "SENT" || state === "EXPIRED";
  let filter = false;
  if (unused) {
    const { passed } = await ended();
    if (passed && state === "SENT") return { items: [] };
    filter = !passed;
  }
  const page = await deps.coupons.listByCampaign(campaignId, {
    limit: query.limit,
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    ...(state === undefined ? {} : { state: unused ? "SENT" : (state as "USED" | "REFUNDED") }),
    ...(query.usedFrom === undefined ? {} : { usedFrom: query.usedFrom }),
    ...(query.usedTo === undefined ? {} : { usedTo: query.usedTo }),
  });
  const end = page.items.some((r) => r.state === "SENT") ? (await ended()).end : undefined;
  const items = page.items.map((r) => withState(r, r.availableEndTime ?? end, now));
  return {
    items: filter ? items.filter((v) => v.state === state) : items,
    ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
  };
}

/** What a campaign report is built from: two items, whatever the campaign's size. */
export interface CampaignReportInputs {
  campaign: CampaignRecord;
  uses: CampaignUseTotals;
}

/** The campaign and its use totals (bounded reads: its item and its totals item). Unknown → NotFoundError. */
export async function campaignReportInputs(
  deps: Pick<CouponQueryDependencies, "coupons" | "campaigns">,
  campaignId: string,
): Promise<CampaignReportInputs> {
  const [campaign, uses] = await Promise.all([deps.campaigns.get(campaignId), deps.coupons.campaignUses(campaignId)]);
  if (campaign === undefined) throw new NotFoundError("campaign_id", `no campaign ${campaignId}`);
  return { campaign, uses };
}

function withState(record: CouponRecord, end: number | undefined, now: number): CouponView {
  return {
    record,
    state: effectiveState(record, end, now),
    ...(end === undefined ? {} : { availableEndTime: end }),
  };
}
