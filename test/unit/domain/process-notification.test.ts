import { describe, expect, it } from "vitest";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryNotificationInbox } from "#shared/adapters/memory/memory-notification-inbox.js";
import { processNotification, type VerifiedNotification } from "#shared/domain/notifications/process-notification.js";

const notification: VerifiedNotification = {
  id: "EV-1",
  eventType: "COUPON.USE",
  createTime: "2026-11-27T10:00:05+08:00",
  resource: { coupon_id: "98674556", stock_id: "9856000", status: "USED" },
};

const used: VerifiedNotification = {
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

function setup() {
  const inbox = new MemoryNotificationInbox();
  const coupons = new MemoryCouponStore();
  return { inbox, coupons, deps: { inbox, coupons, clock: () => 1_800_000_000_000 } };
}

describe("processNotification", () => {
  it("stores a notification once however often WeChat delivers it", async () => {
    const { deps, inbox } = setup();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await processNotification(deps, notification));
    expect(results.map((r) => r.duplicate)).toEqual([false, true, true, true, true]);
    expect(await inbox.listByCoupon("98674556")).toHaveLength(1);
  });

  it("turns the coupon USED once however often the notification comes", async () => {
    const { deps, coupons } = setup();
    await processNotification(deps, used);
    const first = await coupons.get("98674556");
    expect(first).toMatchObject({ state: "USED", transactionIds: ["4200000000000000000000000001"], usedAmount: 500 });
    await processNotification(deps, used);
    await processNotification(deps, used);
    expect(await coupons.get("98674556")).toEqual(first);
  });

  it("records the use on a repeat delivery when a crash came between storing and the coupon's change", async () => {
    const { deps, coupons } = setup();
    const failing = {
      ...deps,
      coupons: Object.assign(Object.create(coupons) as MemoryCouponStore, {
        recordUse: async () => Promise.reject(new Error("table down")),
      }),
    };
    await expect(processNotification(failing, used)).rejects.toThrow("table down");
    expect(await coupons.get("98674556")).toBeUndefined();
    expect(await processNotification(deps, used)).toEqual({ duplicate: true });
    expect(await coupons.get("98674556")).toMatchObject({ state: "USED" });
  });

  it("lets one of many concurrent deliveries be the first", async () => {
    const { deps } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => processNotification(deps, notification)));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
  });
});
