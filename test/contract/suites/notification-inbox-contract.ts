import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CouponEvent, NotificationInbox } from "#shared/domain/ports.js";

const T0 = 1_800_000_000_000;

export const newEvent = (overrides: Partial<CouponEvent> = {}): CouponEvent => ({
  id: randomUUID(),
  eventType: "COUPON.USE",
  couponId: `coupon-${randomUUID()}`,
  stockId: "9856000",
  createTime: "2026-11-26T10:00:00+08:00",
  receivedAt: T0,
  resource: { coupon_id: "x", consume_information: { consume_amount: 100, transaction_id: "4200" } },
  ...overrides,
});

export function notificationInboxContract(backend: string, makeInbox: () => NotificationInbox) {
  describe(`NotificationInbox contract (${backend})`, () => {
    it("stores a notification on first delivery and reports repeats with the stored event", async () => {
      const inbox = makeInbox();
      const event = newEvent();
      const first = await inbox.recordOnce(event);
      expect(first).toEqual({ firstTime: true, record: event });
      const again = await inbox.recordOnce({ ...event, receivedAt: T0 + 60_000, resource: { tampered: true } });
      expect(again).toEqual({ firstTime: false, record: event });
    });

    it("de-duplicates 50 concurrent deliveries of one notification to one first time", async () => {
      const inbox = makeInbox();
      const event = newEvent();
      const results = await Promise.all(Array.from({ length: 50 }, () => inbox.recordOnce(event)));
      expect(results.filter((r) => r.firstTime)).toHaveLength(1);
    });

    it("stores an event whose resource lacked coupon_id or stock_id (empty strings)", async () => {
      const inbox = makeInbox();
      const event = newEvent({ couponId: "", stockId: "", resource: {} });
      expect(await inbox.recordOnce(event)).toEqual({ firstTime: true, record: event });
      expect((await inbox.recordOnce(event)).record).toEqual(event);
    });

    it("lists a coupon's notifications oldest first", async () => {
      const inbox = makeInbox();
      const couponId = `coupon-${randomUUID()}`;
      const later = newEvent({ couponId, createTime: "2026-11-26T10:05:00+08:00" });
      const earlier = newEvent({ couponId, createTime: "2026-11-26T10:01:00+08:00" });
      await inbox.recordOnce(later);
      await inbox.recordOnce(earlier);
      await inbox.recordOnce(newEvent());
      const list = await inbox.listByCoupon(couponId);
      expect(list.map((r) => r.id)).toEqual([earlier.id, later.id]);
      expect(list[0]).toEqual(earlier);
      expect(await inbox.listByCoupon("coupon-none")).toEqual([]);
    });
  });
}
