import {
  countable,
  dayOf,
  expiryEntry,
  firstUseAmount,
  hasEntry,
  issueEntry,
  refundEntry,
  useEntry,
} from "../../domain/coupons/coupon-state.js";
import { timeToUseBucket } from "../../domain/coupons/time-to-use.js";
import { NotFoundError } from "../../domain/errors.js";
import type {
  CampaignUseTotals,
  CountUseResult,
  CouponExpiry,
  CouponIssue,
  CouponListOptions,
  CouponRecord,
  CouponRefund,
  CouponStore,
  CouponUse,
  ListPage,
  StateChange,
} from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import {
  checkCursorInRange,
  couponListOrder,
  couponListOwner,
  couponListRange,
  couponReissued,
  emptyUseTotals,
} from "../record-rules.js";
import { compareUtf8 } from "./compare.js";

interface StoredCoupon extends CouponRecord {
  countLeaseUntil?: number;
}

/** In-memory `CouponStore` (reference implementation of test/contract/suites/coupon-store-contract.ts). */
export class MemoryCouponStore implements CouponStore {
  readonly #coupons = new Map<string, StoredCoupon>();
  readonly #totals = new Map<string, CampaignUseTotals>();
  readonly #issuedStocks = new Map<string, number>();

  /** Stocks this service issued coupons of, with the first issue's time (`MemoryReconciliationStore` tracks them). */
  issuedStocks(): ReadonlyMap<string, number> {
    return this.#issuedStocks;
  }

  async recordIssued(issue: CouponIssue, now: number): Promise<StateChange<CouponRecord>> {
    const existing = this.#coupons.get(issue.couponId);
    if (existing?.outRequestNo !== undefined) {
      if (existing.outRequestNo !== issue.outRequestNo || existing.mchid !== issue.mchid) throw couponReissued();
      return { changed: false, record: view(existing) };
    }
    const { couponId, stockId, mchid, outRequestNo, openid, appid, campaignId, sentAt } = issue;
    if (!this.#issuedStocks.has(stockId)) this.#issuedStocks.set(stockId, now);
    const stored: StoredCoupon = existing ?? {
      couponId,
      stockId,
      state: "SENT",
      issuedByService: true,
      transactionIds: [],
      history: [],
      counted: false,
      createdAt: now,
      updatedAt: now,
    };
    Object.assign(stored, {
      issuedByService: true,
      mchid,
      outRequestNo,
      openid,
      appid,
      sentAt,
      ...(campaignId === undefined ? {} : { campaignId }),
      updatedAt: now,
    });
    stored.history.push(issueEntry(issue));
    this.#coupons.set(couponId, stored);
    return { changed: true, record: view(stored) };
  }

  async recordUse(use: CouponUse, now: number): Promise<StateChange<CouponRecord>> {
    const entry = useEntry(use);
    const existing = this.#coupons.get(use.couponId);
    // A first use from SENT or EXPIRED (a use WeChat reports wins over an expiry recorded for want of one).
    if (existing !== undefined && existing.state !== "SENT" && existing.state !== "EXPIRED") {
      if (hasEntry(existing.history, entry)) return { changed: false, record: view(existing) };
      // Another use: a coupon returned by a refund and used again, or a multi-use coupon.
      existing.state = "USED";
      if (use.transactionId !== undefined) existing.transactionIds.push(use.transactionId);
      existing.usedAmount = (existing.usedAmount ?? 0) + use.amount;
      existing.history.push(entry);
      existing.updatedAt = now;
      return { changed: true, record: view(existing) };
    }
    const stored: StoredCoupon = existing ?? {
      couponId: use.couponId,
      stockId: use.stockId,
      state: "USED",
      issuedByService: false,
      transactionIds: [],
      history: [],
      counted: false,
      createdAt: now,
      updatedAt: now,
    };
    stored.state = "USED";
    stored.foundBy = use.source;
    stored.usedAt = use.usedAt;
    stored.consumeTime = use.consumeTime;
    if (use.consumeMchid !== undefined) stored.consumeMchid = use.consumeMchid;
    if (use.transactionId !== undefined) stored.transactionIds.push(use.transactionId);
    stored.usedAmount = use.amount;
    if (use.couponAmount !== undefined) stored.couponAmount ??= use.couponAmount;
    if (use.availableEndTime !== undefined) stored.availableEndTime ??= use.availableEndTime;
    stored.history.push(entry);
    stored.updatedAt = now;
    this.#coupons.set(use.couponId, stored);
    return { changed: true, record: view(stored) };
  }

  async recordRefund(refund: CouponRefund, now: number): Promise<StateChange<CouponRecord>> {
    const existing = this.#coupons.get(refund.couponId);
    if (existing === undefined) throw new NotFoundError("coupon_id", `no coupon ${refund.couponId}`);
    const entry = refundEntry(refund);
    if (existing.state !== "USED" || hasEntry(existing.history, entry))
      return { changed: false, record: view(existing) };
    existing.state = "REFUNDED";
    existing.refundedAt = refund.refundedAt;
    existing.history.push(entry);
    existing.updatedAt = now;
    return { changed: true, record: view(existing) };
  }

  async recordExpiry(expiry: CouponExpiry, now: number): Promise<StateChange<CouponRecord>> {
    const existing = this.#coupons.get(expiry.couponId);
    if (existing === undefined) throw new NotFoundError("coupon_id", `no coupon ${expiry.couponId}`);
    if (existing.state !== "SENT") return { changed: false, record: view(existing) };
    existing.state = "EXPIRED";
    existing.expiredAt = expiry.expiredAt;
    existing.availableEndTime ??= expiry.expiredAt;
    existing.history.push(expiryEntry(expiry));
    existing.updatedAt = now;
    return { changed: true, record: view(existing) };
  }

  async countUse(couponId: string, now: number, _leaseMs: number): Promise<CountUseResult> {
    const stored = this.#coupons.get(couponId);
    if (stored === undefined || !countable(stored)) return "not_countable";
    if (stored.counted) return "already";
    if ((stored.countLeaseUntil ?? 0) > now) return "busy";
    const campaignId = stored.campaignId!;
    const totals = this.#totals.get(campaignId) ?? emptyUseTotals(campaignId);
    const usedAt = stored.usedAt!;
    const timeToUse = usedAt - stored.sentAt!;
    const day = dayOf(stored.consumeTime ?? new Date(usedAt).toISOString());
    const bucket = timeToUseBucket(timeToUse);
    totals.used += 1;
    totals.usedAmount += firstUseAmount(stored);
    totals.usesByDay[day] = (totals.usesByDay[day] ?? 0) + 1;
    totals.timeToUse[bucket] = (totals.timeToUse[bucket] ?? 0) + 1;
    totals.firstUsedAt = Math.min(totals.firstUsedAt ?? usedAt, usedAt);
    totals.fastestUseMs = Math.min(totals.fastestUseMs ?? timeToUse, timeToUse);
    this.#totals.set(campaignId, totals);
    stored.counted = true;
    return "counted";
  }

  async get(couponId: string): Promise<CouponRecord | undefined> {
    const stored = this.#coupons.get(couponId);
    return stored === undefined ? undefined : view(stored);
  }

  async getMany(couponIds: readonly string[]): Promise<Map<string, CouponRecord>> {
    const found = new Map<string, CouponRecord>();
    for (const id of couponIds) {
      const stored = this.#coupons.get(id);
      if (stored !== undefined) found.set(id, view(stored));
    }
    return found;
  }

  async listByCampaign(campaignId: string, options: CouponListOptions): Promise<ListPage<CouponRecord>> {
    const owner = couponListOwner(campaignId);
    const after =
      options.cursor === undefined ? undefined : decodeCursor(options.cursor, ["list", "after"], { list: owner }).after;
    const range = couponListRange(options);
    if (after !== undefined) checkCursorInRange(after, range);
    const ordered = [...this.#coupons.values()]
      .filter((c) => c.campaignId === campaignId && c.outRequestNo !== undefined)
      .map((c) => ({ key: couponListOrder(c), c }))
      .filter(
        ({ key }) => range === undefined || (compareUtf8(key, range.from) >= 0 && compareUtf8(key, range.to) <= 0),
      )
      .filter(({ key }) => after === undefined || compareUtf8(key, after) > 0)
      .sort((a, b) => compareUtf8(a.key, b.key));
    const page = ordered.slice(0, options.limit);
    const last = page.at(-1);
    const items = page.map(({ c }) => view(c));
    if (ordered.length <= options.limit || last === undefined) return { items };
    return { items, cursor: encodeCursor({ list: owner, after: last.key }) };
  }

  async listIssuedByStock(stockId: string, options: { limit: number; cursor?: string }): Promise<ListPage<string>> {
    const owner = `STOCK#${stockId}#COUPONS`;
    const after =
      options.cursor === undefined ? undefined : decodeCursor(options.cursor, ["list", "after"], { list: owner }).after;
    const ids = [...this.#coupons.values()]
      .filter((c) => c.stockId === stockId && c.outRequestNo !== undefined)
      .map((c) => c.couponId)
      .filter((id) => after === undefined || compareUtf8(id, after) > 0)
      .sort(compareUtf8);
    const items = ids.slice(0, options.limit);
    const last = items.at(-1);
    if (ids.length <= options.limit || last === undefined) return { items };
    return { items, cursor: encodeCursor({ list: owner, after: last }) };
  }

  async campaignUses(campaignId: string): Promise<CampaignUseTotals> {
    return structuredClone(this.#totals.get(campaignId) ?? emptyUseTotals(campaignId));
  }
}

function view(stored: StoredCoupon): CouponRecord {
  const { countLeaseUntil: _lease, ...record } = structuredClone(stored);
  return record;
}
