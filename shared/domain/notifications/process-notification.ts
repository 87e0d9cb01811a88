import { couponUseFromNotification, recordCouponUse } from "../coupons/coupon-lifecycle.js";
import type { Clock, CouponEvent, CouponStore, EventPublisher, NotificationInbox } from "../ports.js";

export interface NotificationDependencies {
  inbox: NotificationInbox;
  /** The coupon's lifecycle: a COUPON.USE turns it USED (shared/domain/coupons/coupon-lifecycle.ts). */
  coupons: CouponStore;
  publisher: EventPublisher;
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
  /** Whether this delivery published the event (a first delivery, or a repeat whose first publish never finished). */
  published: boolean;
}

/**
 * Stores a WeChat notification once, records the use on the coupon, and hands it on. One conditional write both
 * de-duplicates and stores, so the two can never disagree; the coupon's state change and its campaign's totals come
 * next (each idempotent), publishing last, so a published event always has its coupon state. A repeat delivery whose
 * first one never got as far as publishing runs both again (crash in between): they change nothing twice. Any thrown
 * error must become a 5xx so WeChat delivers again.
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
  const duplicate = !stored.firstTime;
  if (duplicate && stored.published) return { duplicate, published: false };
  // The stored event, not this delivery's copy: every delivery of one notification records the same use.
  const use = couponUseFromNotification(stored.record);
  if (use !== undefined) await recordCouponUse({ coupons: deps.coupons, clock: deps.clock }, use);
  await deps.publisher.publish(stored.record);
  await deps.inbox.markPublished(event.id, deps.clock());
  return { duplicate, published: true };
}
