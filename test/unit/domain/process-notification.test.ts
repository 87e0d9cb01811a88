import { describe, expect, it } from "vitest";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryNotificationInbox } from "#shared/adapters/memory/memory-notification-inbox.js";
import { MemoryEventPublisher } from "#shared/adapters/memory/memory-send-queue.js";
import { processNotification, type VerifiedNotification } from "#shared/domain/notifications/process-notification.js";

const notification: VerifiedNotification = {
  id: "EV-1",
  eventType: "COUPON.USE",
  createTime: "2026-11-27T10:00:05+08:00",
  resource: { coupon_id: "98674556", stock_id: "9856000", status: "USED" },
};

function setup() {
  const inbox = new MemoryNotificationInbox();
  const publisher = new MemoryEventPublisher();
  const coupons = new MemoryCouponStore();
  return { inbox, publisher, coupons, deps: { inbox, coupons, publisher, clock: () => 1_800_000_000_000 } };
}

describe("processNotification", () => {
  it("stores and publishes a notification once however often WeChat delivers it", async () => {
    const { deps, publisher, inbox } = setup();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await processNotification(deps, notification));
    expect(results.map((r) => r.duplicate)).toEqual([false, true, true, true, true]);
    expect(publisher.events).toHaveLength(1);
    expect(await inbox.listByCoupon("98674556")).toHaveLength(1);
  });

  it("turns the coupon USED once, before the event is published", async () => {
    const { deps, coupons } = setup();
    const used = {
      ...notification,
      resource: {
        ...notification.resource,
        normal_coupon_information: { coupon_amount: 500, transaction_minimum: 1000 },
        consume_information: {
          consume_time: "2026-11-27T10:00:00+08:00",
          consume_mchid: "1900000001",
          transaction_id: "4200000000000000000000000001",
        },
      },
    };
    const failing = { ...deps, publisher: { publish: async () => Promise.reject(new Error("queue down")) } };
    await expect(processNotification(failing, used)).rejects.toThrow("queue down");
    const first = await coupons.get("98674556");
    expect(first).toMatchObject({ state: "USED", transactionIds: ["4200000000000000000000000001"], usedAmount: 500 });
    await processNotification(deps, used);
    await processNotification(deps, used);
    expect(await coupons.get("98674556")).toEqual(first);
  });

  it("re-publishes on the next delivery when a crash came between store and publish", async () => {
    const { deps, publisher } = setup();
    const failing = { ...deps, publisher: { publish: async () => Promise.reject(new Error("queue down")) } };
    await expect(processNotification(failing, notification)).rejects.toThrow("queue down");
    expect(await processNotification(deps, notification)).toEqual({ duplicate: true, published: true });
    expect(await processNotification(deps, notification)).toEqual({ duplicate: true, published: false });
    expect(publisher.events).toHaveLength(1);
  });

  it("lets one of many concurrent deliveries be the first", async () => {
    const { deps, publisher } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => processNotification(deps, notification)));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(publisher.events.length).toBeGreaterThanOrEqual(1);
  });
});
