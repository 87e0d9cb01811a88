import type { CouponEvent, NotificationInbox, NotificationRecord, RecordOnceResult } from "../../domain/ports.js";
import { notificationOrder } from "../record-rules.js";
import { compareUtf8 } from "./compare.js";

/** In-memory `NotificationInbox` (reference implementation). */
export class MemoryNotificationInbox implements NotificationInbox {
  readonly #items = new Map<string, NotificationRecord>();

  async recordOnce(event: CouponEvent): Promise<RecordOnceResult> {
    const existing = this.#items.get(event.id);
    if (existing !== undefined) return { firstTime: false, record: structuredClone(existing) };
    const record: NotificationRecord = structuredClone(event);
    this.#items.set(event.id, record);
    return { firstTime: true, record: structuredClone(record) };
  }

  async listByCoupon(couponId: string): Promise<NotificationRecord[]> {
    return [...this.#items.values()]
      .filter((r) => r.couponId === couponId)
      .sort((a, b) => compareUtf8(notificationOrder(a), notificationOrder(b)))
      .map((r) => structuredClone(r));
  }
}
