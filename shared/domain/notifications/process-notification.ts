import { couponUseFromNotification, recordCouponUse } from "../coupons/coupon-lifecycle.js";
import type { Clock, CouponEvent, CouponStore, NotificationInbox } from "../ports.js";

export interface NotificationDependencies {
  inbox: NotificationInbox;
  /** The coupon's lifecycle: a COUPON.USE turns it USED (shared/domain/coupons/coupon-lifecycle.ts). */
  coupons: CouponStore;
  clock: Clock;
}

/** A notification that has already been verified and decrypted by the WeChat client. */
export interface VerifiedNotification {
  id: string;
  eventType: string;
  createTime: string;
  resource: Record<string, unknown>;
}

export interface NotificationResult {
  duplicate: boolean;
}

/**
 * Stores a WeChat notification once and records the use on the coupon. One conditional write both de-duplicates and
 * stores, so the two can never disagree; the coupon's state change and its campaign's totals come next (each
 * idempotent, so every delivery runs them: a repeat after a crash in between finishes the work, changes nothing
 * twice). Nothing is published here: the coupon's change to USED reaches the event bus through the table's stream
 * (docs/events.md#outbox), so the webhook acknowledges without waiting for any publication, and a recorded use cannot
 * miss its event. Any thrown error must become a 5xx so WeChat delivers again.
 */
export async function processNotification(
  deps: NotificationDependencies,
  notification: VerifiedNotification,
): Promise<NotificationResult> {
  const event: CouponEvent = {
    id: notification.id,
    eventType: notification.eventType,
    couponId: String(notification.resource.coupon_id ?? ""),
    stockId: String(notification.resource.stock_id ?? ""),
    createTime: notification.createTime,
    receivedAt: deps.clock(),
    resource: notification.resource,
  };
  const stored = await deps.inbox.recordOnce(event);
  // The stored event, not this delivery's copy: every delivery of one notification records the same use.
  const use = couponUseFromNotification(stored.record);
  if (use !== undefined) await recordCouponUse({ coupons: deps.coupons, clock: deps.clock }, use);
  return { duplicate: !stored.firstTime };
}
