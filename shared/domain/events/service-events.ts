import { createHash } from "node:crypto";
import type { CampaignRecord, CouponRecord, CouponSource, ReconciliationRecord } from "../ports.js";

/**
 * The events wxcoupon publishes to its EventBridge bus (docs/events.md): `source` is always EVENT_SOURCE, the
 * `detail-type` one of DETAIL_TYPES (stable: consumers' rules match on it), and every `detail` carries `event_id`, the
 * same for every delivery of one fact, so a consumer de-duplicates on it (EventBridge and the stream behind it
 * deliver at least once). JSON Schemas: docs/events/<detail-type>.schema.json.
 */
export const EVENT_SOURCE = "wxcoupon";

export const DETAIL_TYPES = {
  couponSent: "coupon.sent",
  couponUsed: "coupon.used",
  couponRefunded: "coupon.refunded",
  couponExpired: "coupon.expired",
  campaignCompleted: "campaign.completed",
  reconciliationCompleted: "reconciliation.completed",
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];

/** One event to publish: what EventBridge's PutEvents entry carries besides the bus and source. */
export interface ServiceEvent {
  detailType: DetailType;
  /** The fact's time (epoch ms): PutEvents `Time`. */
  time: number;
  /** The resources the event is about (coupon, stock, campaign ids as `wxcoupon:<kind>/<id>` names). */
  resources: string[];
  detail: ServiceEventDetail;
}

interface DetailBase {
  /** Stable id of the fact (same on every delivery): de-duplicate on it. */
  event_id: string;
  /** Version of this detail's schema (docs/events/<detail-type>.schema.json). */
  schema_version: 1;
  /** RFC 3339 (UTC) time of the fact. */
  occurred_at: string;
}

export interface CouponEventDetail extends DetailBase {
  coupon_id: string;
  stock_id: string;
  state: CouponRecord["state"];
  issued_by_service: boolean;
  mchid?: string;
  openid?: string;
  campaign_id?: string;
  out_request_no?: string;
  sent_at?: string;
  used_at?: string;
  /** Fen consumed over all uses. */
  used_amount?: number;
  coupon_amount?: number;
  transaction_ids: string[];
  consume_mchid?: string;
  refunded_at?: string;
  /** coupon.expired only: the stock's available_end_time, the moment the coupon expired. */
  available_end_time?: string;
  /** coupon.used only: who reported the use (`reconciliation`: the use-flow file, COUPON.USE never arrived). */
  found_by?: CouponSource;
}

export interface CampaignCompletedDetail extends DetailBase {
  campaign_id: string;
  mchid: string;
  stock_id: string;
  total: number;
  sent: number;
  failed: number;
  cancelled: number;
  failures_by_code: Record<string, number>;
  /** `cancelled` when the operator cancelled the campaign before every recipient was sent. */
  state_reason?: "cancelled";
}

export interface ReconciliationCompletedDetail extends DetailBase {
  reconciliation_id: string;
  stock_id: string;
  trigger: ReconciliationRecord["trigger"];
  /** Rows compared, per flow file. */
  use_rows: number;
  refund_rows: number;
  /** Findings per kind (shared/domain/ports.ts `FindingKind`). */
  findings: { use_recovered: number; refund_recorded: number; not_issued: number };
  /** Coupons of the stock this run recorded EXPIRED (each published its own coupon.expired). */
  expired: number;
}

export type ServiceEventDetail = CouponEventDetail | CampaignCompletedDetail | ReconciliationCompletedDetail;

/** A change of one stored record, as the table's stream reports it (before and after, either may be absent). */
export type RecordChange =
  | { kind: "coupon"; before?: CouponRecord; after?: CouponRecord }
  | { kind: "campaign"; before?: CampaignRecord; after?: CampaignRecord }
  | { kind: "reconciliation"; before?: ReconciliationRecord; after?: ReconciliationRecord };

/**
 * The events a change of a stored record stands for: each is a transition, so one fact gives one event however
 * often the change is delivered, and a record rewritten without a transition gives none.
 * - coupon.sent: the coupon got its send (`out_request_no`) — usually at creation; after the use when COUPON.USE
 *   overtook the send's own record;
 * - coupon.used: the coupon became USED (COUPON.USE, or a reconciliation run that found the use: `found_by`);
 * - coupon.refunded: the coupon became REFUNDED;
 * - coupon.expired: the coupon became EXPIRED (a reconciliation run's expiry phase; only ever from SENT, once: a use
 *   found later turns it USED and publishes coupon.used, never a second coupon.expired);
 * - campaign.completed: the campaign's counters became exact and final (`reconciled`), i.e. state COMPLETED;
 * - reconciliation.completed: a reconciliation run became COMPLETED (a FAILED run gives none).
 */
export function eventsForChange(change: RecordChange): ServiceEvent[] {
  if (change.kind === "campaign") {
    const { before, after } = change;
    if (after?.reconciled !== true || !after.sealed || (before?.reconciled === true && before.sealed)) return [];
    return [campaignCompleted(after)];
  }
  if (change.kind === "reconciliation") {
    const { before, after } = change;
    if (after?.status !== "COMPLETED" || before?.status === "COMPLETED") return [];
    return [reconciliationCompleted(after)];
  }
  const { before, after } = change;
  if (after === undefined) return [];
  const events: ServiceEvent[] = [];
  if (after.outRequestNo !== undefined && before?.outRequestNo === undefined) {
    events.push(couponEvent(DETAIL_TYPES.couponSent, after, after.sentAt ?? after.createdAt, after.outRequestNo));
  }
  if (after.state === "USED" && before?.state !== "USED") {
    // The use that made it USED now: the history's last (a refunded coupon used again keeps its first used_at).
    const at = after.history.findLast((h) => h.state === "USED")?.at ?? after.usedAt ?? after.updatedAt;
    events.push(couponEvent(DETAIL_TYPES.couponUsed, after, at, lastUseOf(after)));
  }
  if (after.state === "REFUNDED" && before?.state !== "REFUNDED") {
    events.push(couponEvent(DETAIL_TYPES.couponRefunded, after, after.refundedAt ?? after.updatedAt, lastOf(after)));
  }
  if (after.state === "EXPIRED" && before?.state !== "EXPIRED") {
    // One per coupon: recordExpiry only moves SENT → EXPIRED, and nothing moves a coupon back to SENT.
    events.push(couponEvent(DETAIL_TYPES.couponExpired, after, after.expiredAt ?? after.updatedAt, ""));
  }
  return events;
}

/** Deterministic id of one fact: the same inputs give the same id on every delivery. */
export function eventId(detailType: DetailType, ...parts: string[]): string {
  return createHash("sha256")
    .update([detailType, ...parts].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

const iso = (ms: number) => new Date(ms).toISOString();
/**
 * The use that made the coupon USED this time: its transaction (the last one; a refunded coupon used again has a
 * second), else how many uses the history holds. Not the first use's: a second use's event would carry the first's
 * event_id and be dropped by consumers as a duplicate.
 */
const lastUseOf = (c: CouponRecord) =>
  c.transactionIds.at(-1) ?? `${c.usedAt ?? ""}#${c.history.filter((h) => h.state === "USED").length}`;
const lastOf = (c: CouponRecord) => String(c.refundedAt ?? c.updatedAt);

function couponEvent(detailType: DetailType, c: CouponRecord, at: number, discriminator: string): ServiceEvent {
  const detail: CouponEventDetail = {
    event_id: eventId(detailType, c.couponId, discriminator),
    schema_version: 1,
    occurred_at: iso(at),
    coupon_id: c.couponId,
    stock_id: c.stockId,
    state: c.state,
    issued_by_service: c.issuedByService,
    transaction_ids: [...c.transactionIds],
    ...(c.mchid === undefined ? {} : { mchid: c.mchid }),
    ...(c.openid === undefined ? {} : { openid: c.openid }),
    ...(c.campaignId === undefined ? {} : { campaign_id: c.campaignId }),
    ...(c.outRequestNo === undefined ? {} : { out_request_no: c.outRequestNo }),
    ...(c.sentAt === undefined ? {} : { sent_at: iso(c.sentAt) }),
    ...(c.usedAt === undefined ? {} : { used_at: iso(c.usedAt) }),
    ...(c.usedAmount === undefined ? {} : { used_amount: c.usedAmount }),
    ...(c.couponAmount === undefined ? {} : { coupon_amount: c.couponAmount }),
    ...(c.consumeMchid === undefined ? {} : { consume_mchid: c.consumeMchid }),
    ...(c.refundedAt === undefined ? {} : { refunded_at: iso(c.refundedAt) }),
    ...(detailType === DETAIL_TYPES.couponUsed && c.foundBy !== undefined ? { found_by: c.foundBy } : {}),
    ...(detailType === DETAIL_TYPES.couponExpired && c.expiredAt !== undefined
      ? { available_end_time: iso(c.expiredAt) }
      : {}),
  };
  const resources = [`wxcoupon:coupon/${c.couponId}`, `wxcoupon:stock/${c.stockId}`];
  if (c.campaignId !== undefined) resources.push(`wxcoupon:campaign/${c.campaignId}`);
  return { detailType, time: at, resources, detail };
}

function campaignCompleted(c: CampaignRecord): ServiceEvent {
  const detailType = DETAIL_TYPES.campaignCompleted;
  const detail: CampaignCompletedDetail = {
    event_id: eventId(detailType, c.id),
    schema_version: 1,
    occurred_at: iso(c.updatedAt),
    campaign_id: c.id,
    mchid: c.mchid,
    stock_id: c.stockId,
    total: c.total,
    sent: c.sent,
    failed: c.failed,
    cancelled: c.cancelled,
    failures_by_code: { ...c.failuresByCode },
    ...(c.control === "CANCELLED" ? { state_reason: "cancelled" as const } : {}),
  };
  return {
    detailType,
    time: c.updatedAt,
    resources: [`wxcoupon:campaign/${c.id}`, `wxcoupon:stock/${c.stockId}`],
    detail,
  };
}

function reconciliationCompleted(r: ReconciliationRecord): ServiceEvent {
  const detailType = DETAIL_TYPES.reconciliationCompleted;
  const at = r.completedAt ?? r.updatedAt;
  const detail: ReconciliationCompletedDetail = {
    event_id: eventId(detailType, r.id),
    schema_version: 1,
    occurred_at: iso(at),
    reconciliation_id: r.id,
    stock_id: r.stockId,
    trigger: r.trigger,
    use_rows: r.counts.use_rows,
    refund_rows: r.counts.refund_rows,
    findings: {
      use_recovered: r.counts.use_recovered,
      refund_recorded: r.counts.refund_recorded,
      not_issued: r.counts.not_issued,
    },
    expired: r.counts.expired,
  };
  return {
    detailType,
    time: at,
    resources: [`wxcoupon:reconciliation/${r.id}`, `wxcoupon:stock/${r.stockId}`],
    detail,
  };
}
