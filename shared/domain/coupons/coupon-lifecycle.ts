import { DomainError } from "../errors.js";
import type { Clock, CouponIssue, CouponRecord, CouponStore, CouponUse, StateChange } from "../ports.js";
import { countable } from "./coupon-state.js";

export interface CouponLifecycleDependencies {
  coupons: CouponStore;
  clock: Clock;
}

/**
 * How long one caller may hold the right to add a coupon's use to its campaign's totals: longer than any function that
 * counts may run (api 20 s, send worker 30 s, notify 10 s: `FUNCTION_SIZING` in infra/settings.ts), so a holder is
 * dead, not slow, when the next caller takes over; short enough that WeChat's next delivery (a minute later) can.
 */
export const COUNT_LEASE_MS = 60_000;

/** Another caller is adding this coupon's use to its campaign right now: retry later (the webhook answers 500). */
export class CouponCountBusyError extends DomainError {
  constructor(couponId: string) {
    super("COUPON_COUNT_BUSY", `the use of coupon ${couponId} is being counted by another caller`);
    this.name = "CouponCountBusyError";
  }
}

/**
 * Records that this service issued a coupon (called before its send is recorded SENT, so no SENT send lacks its
 * coupon record) and, when a use was recorded first, counts that use in the campaign.
 */
export async function recordIssuedCoupon(
  deps: CouponLifecycleDependencies,
  issue: CouponIssue,
): Promise<StateChange<CouponRecord>> {
  const change = await deps.coupons.recordIssued(issue, deps.clock());
  await countIfDue(deps, change.record);
  return change;
}

/**
 * Records a use (idempotent: the same transaction again changes nothing) and counts the coupon's first use in its
 * campaign's totals exactly once. Run on every delivery, repeats included: a repeat completes a count a crash cut off.
 */
export async function recordCouponUse(
  deps: CouponLifecycleDependencies,
  use: CouponUse,
): Promise<StateChange<CouponRecord>> {
  const change = await deps.coupons.recordUse(use, deps.clock());
  await countIfDue(deps, change.record);
  return change;
}

async function countIfDue(deps: CouponLifecycleDependencies, record: CouponRecord): Promise<void> {
  if (record.counted || !countable(record)) return;
  const result = await deps.coupons.countUse(record.couponId, deps.clock(), COUNT_LEASE_MS);
  if (result === "busy") throw new CouponCountBusyError(record.couponId);
}

/**
 * The use a COUPON.USE resource reports (docs/wechatpay-cash-coupons.md#coupon-use-notification), or undefined when
 * it reports none (a status other than USED without consume_information). Amounts are fen: `consume_amount` when
 * WeChat sends it (multi-use coupons), else the face value `normal_coupon_information.coupon_amount` (a cash coupon is
 * consumed whole).
 */
export function couponUseFromNotification(notification: {
  id: string;
  createTime: string;
  resource: Record<string, unknown>;
}): CouponUse | undefined {
  const r = notification.resource;
  const consume = record(r.consume_information);
  if (consume === undefined && r.status !== "USED") return undefined;
  const consumeTime = text(consume?.consume_time) ?? notification.createTime;
  const usedAt = Date.parse(consumeTime);
  const couponAmount = amount(record(r.normal_coupon_information)?.coupon_amount);
  const end = Date.parse(text(r.available_end_time) ?? "");
  const transactionId = text(consume?.transaction_id);
  const consumeMchid = text(consume?.consume_mchid);
  return {
    couponId: String(r.coupon_id ?? ""),
    stockId: String(r.stock_id ?? ""),
    consumeTime,
    usedAt: Number.isFinite(usedAt) ? usedAt : Date.parse(notification.createTime),
    amount: amount(consume?.consume_amount) ?? couponAmount ?? 0,
    source: "notification",
    notificationId: notification.id,
    ...(transactionId === undefined ? {} : { transactionId }),
    ...(consumeMchid === undefined ? {} : { consumeMchid }),
    ...(couponAmount === undefined ? {} : { couponAmount }),
    ...(Number.isFinite(end) ? { availableEndTime: end } : {}),
  };
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const amount = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
