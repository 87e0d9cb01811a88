import { ConflictError, ValidationError } from "../domain/errors.js";
import type {
  CampaignUseTotals,
  CouponListOptions,
  ExportRecord,
  KeyedRecord,
  NewExport,
  NewKeyedRecord,
  NewSendRecord,
  SendRecord,
  StockRequestRecord,
  StoredCouponState,
  SucceededState,
} from "../domain/ports.js";

// Rules every implementation of a port shares (in-memory reference and AWS adapters alike), kept in one place so
// the implementations cannot drift apart.

/** What distinguishes one kind of keyed-call record from another; the lease and settle rules are the same for all. */
export interface KeyedKind<R extends KeyedRecord, S> {
  /** The success state (`SENT`, `CREATED`). */
  succeeded: SucceededState<R>;
  /** Names the record in a NotFoundError ("no send record for this out_request_no"). */
  noun: string;
  /** The record's own fields after `succeed(success)`; every backend stores exactly these. */
  successFields(success: S): Partial<R>;
  /** A stored success equal to `success` is a repeat; any other is a conflict (`mismatch`). */
  sameSuccess(record: R, success: S): boolean;
  mismatch(): ConflictError;
}

export const SEND_KIND: KeyedKind<SendRecord, { couponId: string }> = {
  succeeded: "SENT",
  noun: "send record",
  successFields: ({ couponId }) => ({ couponId }),
  sameSuccess: (record, { couponId }) => record.couponId === couponId,
  mismatch: () =>
    new ConflictError("COUPON_ID_MISMATCH", "coupon_id", "the send is already recorded with another coupon_id"),
};

export const STOCK_REQUEST_KIND: KeyedKind<StockRequestRecord, { stockId: string; result: unknown }> = {
  succeeded: "CREATED",
  noun: "stock request",
  // A JSON round trip: the DynamoDB adapter keeps WeChat's answer as JSON text, so every backend returns one shape.
  successFields: ({ stockId, result }) => ({ stockId, result: JSON.parse(JSON.stringify(result ?? null)) }),
  sameSuccess: (record, { stockId }) => record.stockId === stockId,
  mismatch: () =>
    new ConflictError("STOCK_ID_MISMATCH", "stock_id", "the stock request is already recorded with another stock_id"),
};

/**
 * The record a ledger's `claim` creates, identical for every implementation and kind: PENDING, and leased to the
 * claimant (attempts 1) when `leaseMs` is given, so the synchronous path can call WeChat without a second write.
 */
export function newKeyedRecord<R extends KeyedRecord, N extends NewKeyedRecord>(input: N, leaseMs?: number): R {
  const leased = leaseMs !== undefined && leaseMs > 0;
  // The new-record types hold only strings and numbers: a spread is a whole copy.
  return {
    ...input,
    state: "PENDING",
    attempts: leased ? 1 : 0,
    leaseUntil: leased ? input.createdAt + leaseMs : 0,
    updatedAt: input.createdAt,
  } as unknown as R;
}

/**
 * The record `SendLedger.cancel` writes: final CANCELLED, WeChat issued nothing for it (`certainlyNotIssued`,
 * shared/domain/keyed-call.ts); `attempts` is the stored record's (0 for a new one).
 */
export function cancelledSendRecord(input: NewSendRecord, now: number): SendRecord {
  return {
    ...input,
    state: "CANCELLED",
    errorCode: "CANCELLED",
    errorMessage: "the campaign was cancelled before this send started",
    attempts: 0,
    leaseUntil: 0,
    updatedAt: now,
  };
}

export function campaignConflict(): ConflictError {
  return new ConflictError(
    "CAMPAIGN_ID_REUSED",
    "campaign_id",
    "this campaign id was already used for a different request",
  );
}

/**
 * Order of the campaign list (the DynamoDB adapter's gsi1 sort key; listed descending, newest first): created_at,
 * fixed width so text order is time order, then the id.
 */
export const campaignListOrder = (c: { createdAt: number; id: string }): string =>
  `${String(c.createdAt).padStart(15, "0")}#${c.id}`;

/** Which list a campaign cursor belongs to (the DynamoDB adapter's gsi1 partition): the merchant's campaigns. */
export const campaignListOwner = (mchid: string): string => `CAMPAIGNS#${mchid}`;

/** Order of a coupon's notifications (the DynamoDB adapter's gsi1 sort key): WeChat's create_time, then the id. */
export const notificationOrder = (r: { createTime: string; id: string }): string => `${r.createTime}#${r.id}`;

/** SQS accepts visibility timeouts of 0–43200 s (12 h), whole seconds. */
export function clampVisibility(seconds: number): number {
  if (!Number.isFinite(seconds)) return 0;
  return Math.min(43_200, Math.max(0, Math.round(seconds)));
}

/** Which list a coupon cursor belongs to (the DynamoDB adapter's gsi1 partition): one campaign's coupons. */
export const couponListOwner = (campaignId: string): string => `CAMPAIGN#${campaignId}#COUPONS`;

/**
 * Order of a campaign's coupons (the DynamoDB adapter's gsi1 sort key): stored state, then the time it was entered
 * (sent, first used, refunded; ISO 8601 UTC, fixed width so text order is time order), then the coupon id. A filter on
 * state, and on the time of use, is then a key condition, not a scan.
 *
 * EXPIRED coupons keep the key of SENT (`SENT#{sent_at}`): a campaign has one stock, so its unused coupons expire
 * together, and once the stock has ended every coupon under `SENT#` reads EXPIRED, whether the reconciliation run's
 * expiry phase has reached it yet or not. `state=EXPIRED` is then one key range, right from the end on, and recording
 * an expiry moves nothing in the index.
 */
export function couponListOrder(c: {
  state: StoredCouponState;
  couponId: string;
  sentAt?: number;
  usedAt?: number;
  refundedAt?: number;
}): string {
  const unused = c.state === "SENT" || c.state === "EXPIRED";
  const at = unused ? c.sentAt : c.state === "USED" ? c.usedAt : c.refundedAt;
  return `${unused ? "SENT" : c.state}#${new Date(at ?? 0).toISOString()}#${c.couponId}`;
}

/**
 * The sort-key range a coupon list filter selects (inclusive bounds, as DynamoDB's BETWEEN); undefined: the whole
 * list. `USED#{from}` … `USED#{to}` holds exactly the uses in [from, to): a key of a use at `to` extends the upper
 * bound, so it sorts after it.
 */
export function couponListRange(options: CouponListOptions): { from: string; to: string } | undefined {
  if (options.state === undefined) return undefined;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    from: `${options.state}#${options.usedFrom === undefined ? "" : iso(options.usedFrom)}`,
    to: `${options.state}#${options.usedTo === undefined ? "~" : iso(options.usedTo)}`,
  };
}

/**
 * A cursor's position must lie in the range the page is asked for: a cursor of another filter of the same list (the
 * whole list's, say, stopped among SENT coupons, then asked with state=USED) is refused naming the cursor. DynamoDB
 * itself answers a start key outside the key condition with a ValidationException, which would be a 500.
 */
export function checkCursorInRange(position: string, range: { from: string; to: string } | undefined): void {
  const utf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  if (range !== undefined && (utf8(position, range.from) < 0 || utf8(position, range.to) > 0)) {
    throw new ValidationError("cursor", "is not a cursor of this list with these filters");
  }
}

/** A coupon record issued twice under different out_request_nos: WeChat never answers one coupon for two sends. */
export function couponReissued(): ConflictError {
  return new ConflictError(
    "COUPON_ID_REISSUED",
    "coupon_id",
    "this coupon_id is already recorded for another out_request_no",
  );
}

/** Use totals of a campaign nothing was counted for yet. */
export function emptyUseTotals(campaignId: string): CampaignUseTotals {
  return { campaignId, used: 0, usedAmount: 0, usesByDay: {}, timeToUse: {} };
}

/**
 * Export items live a day longer than their object (the bucket's lifecycle rule, EXPORT_OBJECT_DAYS in
 * infra/settings.ts): a record never points at a file that is already gone for long.
 */
export const EXPORT_ITEM_TTL_SECONDS = 8 * 24 * 3600;

export function newExportRecord(record: NewExport): ExportRecord {
  return { ...record, state: "PENDING", invocations: 0, leaseUntil: 0, updatedAt: record.createdAt };
}
