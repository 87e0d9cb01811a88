import type { Clock, CouponEvent, EventPublisher, NotificationInbox } from "../ports.js";

export interface NotificationDependencies {
  inbox: NotificationInbox;
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
 * Stores a WeChat notification once and hands it on. One conditional write both de-duplicates and stores, so the two
 * can never disagree; publishing comes after, and a repeat delivery re-publishes an event whose publish never
 * completed (crash between store and publish). Any thrown error must become a 5xx so WeChat delivers again.
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
  await deps.publisher.publish(stored.record);
  await deps.inbox.markPublished(event.id, deps.clock());
  return { duplicate, published: true };
}
