import { describe, expect, it } from "vitest";
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
  return { inbox, publisher, deps: { inbox, publisher, clock: () => 1_800_000_000_000 } };
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
