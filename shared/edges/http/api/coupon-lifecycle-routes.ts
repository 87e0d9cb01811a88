import {
  type CouponQueryDependencies,
  type CouponView,
  campaignReportInputs,
  getCoupon,
  listCampaignCoupons,
} from "../../../domain/coupons/coupon-queries.js";
import { sortHistory } from "../../../domain/coupons/coupon-state.js";
import { histogramMedianMs } from "../../../domain/coupons/time-to-use.js";
import { NotFoundError } from "../../../domain/errors.js";
import type { RouteTable } from "../api-handler.js";
import { HttpError } from "../http-error.js";
import { pathParams, queryParams } from "../request.js";
import type { CampaignCouponsResponse, CampaignReportResponse, CouponLifecycleResponse } from "../response-schemas.js";
import { json } from "../responses.js";
import { campaignCouponsQuery, campaignIdPath, couponIdPath } from "../schemas.js";
import { campaignView } from "./campaign-routes.js";
import type { ApiServices } from "./services.js";

/** The coupon lifecycle routes: one coupon, a campaign's coupons, a campaign's report (all from the service's store). */
export function couponLifecycleRoutes(services: ApiServices): RouteTable {
  const deps: CouponQueryDependencies = {
    coupons: services.coupons,
    campaigns: services.campaigns.campaigns,
    stockEnd: services.stockEnd,
    clock: services.campaigns.clock,
  };
  const campaignNotFound = (id: string) => new HttpError(404, "CAMPAIGN_NOT_FOUND", `no campaign ${id}`, "campaign_id");
  const orCampaignNotFound = async <T>(id: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      if (error instanceof NotFoundError && error.field === "campaign_id") throw campaignNotFound(id);
      throw error;
    }
  };

  return {
    "GET /coupons/{coupon_id}": async (event) => {
      const { coupon_id } = pathParams(event, couponIdPath);
      const coupon = await getCoupon(deps, coupon_id);
      if (coupon === undefined) {
        throw new HttpError(404, "COUPON_NOT_FOUND", `no coupon ${coupon_id} is recorded`, "coupon_id");
      }
      return json(200, couponView(coupon));
    },

    "GET /campaigns/{campaign_id}/coupons": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const query = queryParams(event, campaignCouponsQuery);
      const page = await orCampaignNotFound(campaign_id, () =>
        listCampaignCoupons(deps, campaign_id, {
          limit: query.limit,
          ...(query.cursor ? { cursor: query.cursor } : {}),
          ...(query.state ? { state: query.state } : {}),
          ...(query.used_from ? { usedFrom: Date.parse(query.used_from) } : {}),
          ...(query.used_to ? { usedTo: Date.parse(query.used_to) } : {}),
        }),
      );
      const answer: CampaignCouponsResponse = {
        data: page.items.map(couponView),
        ...(page.cursor ? { cursor: page.cursor } : {}),
      };
      return json(200, answer);
    },

    "GET /campaigns/{campaign_id}/report": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const { campaign, uses } = await orCampaignNotFound(campaign_id, () => campaignReportInputs(deps, campaign_id));
      // The same clamped counters as the campaign's status (GET /campaigns/{campaign_id}).
      const status = campaignView(campaign, deps.clock());
      const median = histogramMedianMs(uses.timeToUse);
      const answer: CampaignReportResponse = {
        campaign_id: campaign.id,
        stock_id: campaign.stockId,
        recipients: status.total,
        sent: status.sent,
        failed: status.failed,
        failures_by_code: status.failures_by_code,
        cancelled: status.cancelled,
        used: uses.used,
        used_amount: uses.usedAmount,
        redemption_rate:
          status.sent === 0 ? 0 : Math.round((Math.min(uses.used, status.sent) / status.sent) * 1e4) / 1e4,
        ...(uses.firstUsedAt === undefined ? {} : { first_used_at: new Date(uses.firstUsedAt).toISOString() }),
        time_to_use: {
          ...(uses.fastestUseMs === undefined ? {} : { fastest_seconds: Math.max(0, uses.fastestUseMs) / 1000 }),
          ...(median === undefined ? {} : { median_seconds: median / 1000 }),
        },
        uses_by_day: Object.entries(uses.usesByDay)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([day, count]) => ({ day, uses: count })),
      };
      return json(200, answer);
    },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

function couponView({ record: r, state, availableEndTime }: CouponView): CouponLifecycleResponse {
  return {
    coupon_id: r.couponId,
    stock_id: r.stockId,
    state,
    issued_by_service: r.issuedByService,
    ...(r.campaignId === undefined ? {} : { campaign_id: r.campaignId }),
    ...(r.outRequestNo === undefined ? {} : { out_request_no: r.outRequestNo }),
    ...(r.openid === undefined ? {} : { openid: r.openid }),
    ...(r.appid === undefined ? {} : { appid: r.appid }),
    ...(r.sentAt === undefined ? {} : { sent_at: iso(r.sentAt) }),
    ...(r.usedAt === undefined ? {} : { used_at: iso(r.usedAt) }),
    ...(r.consumeMchid === undefined ? {} : { consume_mchid: r.consumeMchid }),
    transaction_ids: r.transactionIds,
    ...(r.usedAmount === undefined ? {} : { used_amount: r.usedAmount }),
    ...(r.couponAmount === undefined ? {} : { coupon_amount: r.couponAmount }),
    ...(r.refundedAt === undefined ? {} : { refunded_at: iso(r.refundedAt) }),
    ...(availableEndTime === undefined ? {} : { available_end_time: iso(availableEndTime) }),
    history: sortHistory(r.history).map((h) => ({
      state: h.state,
      at: iso(h.at),
      source: h.source,
      ...(h.transactionId === undefined ? {} : { transaction_id: h.transactionId }),
      ...(h.amount === undefined ? {} : { amount: h.amount }),
      ...(h.notificationId === undefined ? {} : { notification_id: h.notificationId }),
      ...(h.outRequestNo === undefined ? {} : { out_request_no: h.outRequestNo }),
    })),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}
