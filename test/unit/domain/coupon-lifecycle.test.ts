import { beforeEach, describe, expect, it } from "vitest";
import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import {
  CouponCountBusyError,
  couponUseFromNotification,
  recordCouponUse,
  recordIssuedCoupon,
} from "#shared/domain/coupons/coupon-lifecycle.js";
import { getCoupon, listCampaignCoupons } from "#shared/domain/coupons/coupon-queries.js";
import { effectiveState, sortHistory } from "#shared/domain/coupons/coupon-state.js";
import { bucketMidpointMs, histogramMedianMs, timeToUseBucket } from "#shared/domain/coupons/time-to-use.js";
import { ValidationError } from "#shared/domain/errors.js";
import type { CouponIssue, CouponStore, CouponUse } from "#shared/domain/ports.js";
import { sendCoupon } from "#shared/domain/sends/send-coupon.js";
import { FakeCouponGateway } from "../../helpers/fake-coupon-gateway.js";
import { memorySendDependencies } from "../../helpers/memory-send-dependencies.js";

/** `store` with some methods replaced (a Proxy: the adapters keep their state in private fields). */
function overriding(store: CouponStore, methods: Partial<CouponStore>): CouponStore {
  return new Proxy(store, {
    get: (target, name: keyof CouponStore) =>
      methods[name] ?? (target[name] as (...args: unknown[]) => unknown).bind(target),
  });
}

const T0 = Date.parse("2026-12-01T02:00:00.000Z");
let now = T0;
const clock = () => now;

const useNotification = (couponId: string, overrides: Record<string, unknown> = {}) => ({
  id: `EV-${couponId}`,
  createTime: "2026-12-01T11:00:05+08:00",
  resource: {
    stock_creator_mchid: "1900000001",
    stock_id: "9856000",
    coupon_id: couponId,
    status: "USED",
    available_end_time: "2026-12-31T23:59:59+08:00",
    normal_coupon_information: { coupon_amount: 500, transaction_minimum: 1000 },
    consume_information: {
      consume_time: "2026-12-01T11:00:00+08:00",
      consume_mchid: "1900000001",
      transaction_id: "4200000000000000000000000001",
    },
    ...overrides,
  },
});

const issue = (couponId: string, campaignId = "camp-1"): CouponIssue => ({
  couponId,
  stockId: "9856000",
  mchid: "1900000001",
  outRequestNo: `out-${couponId}`,
  openid: "o-user",
  appid: "wx1",
  campaignId,
  sentAt: T0 - 3_600_000,
});

describe("couponUseFromNotification", () => {
  it("reads WeChat's consume_information, the face value and the stock's end", () => {
    expect(couponUseFromNotification(useNotification("1001"))).toEqual({
      couponId: "1001",
      stockId: "9856000",
      transactionId: "4200000000000000000000000001",
      consumeTime: "2026-12-01T11:00:00+08:00",
      usedAt: Date.parse("2026-12-01T03:00:00Z"),
      consumeMchid: "1900000001",
      amount: 500,
      couponAmount: 500,
      availableEndTime: Date.parse("2026-12-31T15:59:59Z"),
      source: "notification",
      notificationId: "EV-1001",
    });
  });

  it("takes consume_amount when WeChat sends it (multi-use), and the notification's time without consume_time", () => {
    const use = couponUseFromNotification(
      useNotification("1002", { consume_information: { consume_amount: 120, transaction_id: "42" } }),
    );
    expect(use).toMatchObject({ amount: 120, consumeTime: "2026-12-01T11:00:05+08:00", transactionId: "42" });
  });

  it("reports no use for a notification of another status without consume_information", () => {
    expect(
      couponUseFromNotification(useNotification("1003", { status: "SENDED", consume_information: undefined })),
    ).toBeUndefined();
  });
});

describe("coupon lifecycle", () => {
  let coupons: MemoryCouponStore;
  beforeEach(() => {
    now = T0;
    coupons = new MemoryCouponStore();
  });

  it("a send creates the coupon SENT before the send is recorded SENT", async () => {
    const gateway = new FakeCouponGateway();
    gateway.now = clock;
    const deps = memorySendDependencies(gateway, clock);
    const outcome = await sendCoupon(deps, {
      mchid: "1900000001",
      outRequestNo: "out-1",
      stockId: "9856000",
      openid: "o-user",
      appid: "wx1",
      stockCreatorMchid: "1900000001",
    });
    expect(outcome.status).toBe("SENT");
    const couponId = outcome.record.couponId!;
    expect(await deps.coupons.get(couponId)).toMatchObject({
      state: "SENT",
      issuedByService: true,
      outRequestNo: "out-1",
      sentAt: T0,
    });
  });

  it("a failing coupon store leaves the send PENDING (retried), never SENT without its coupon", async () => {
    const gateway = new FakeCouponGateway();
    gateway.now = clock;
    const deps = memorySendDependencies(gateway, clock);
    const broken = overriding(deps.coupons, {
      recordIssued: async () => Promise.reject(new Error("table unavailable")),
    });
    const command = {
      mchid: "1900000001",
      outRequestNo: "out-2",
      stockId: "9856000",
      openid: "o-user",
      appid: "wx1",
      stockCreatorMchid: "1900000001",
    };
    await expect(sendCoupon({ ...deps, coupons: broken }, command)).rejects.toThrow("table unavailable");
    expect((await deps.ledger.get(command))?.state).toBe("PENDING");
    const retried = await sendCoupon(deps, command);
    expect(retried.status).toBe("SENT");
    expect((await deps.coupons.get(retried.record.couponId!))?.state).toBe("SENT");
  });

  it("counts a use once whatever the order of send and use, and however often either repeats", async () => {
    const deps = { coupons, clock };
    const use = couponUseFromNotification(useNotification("2001"))!;
    // The use first (the send's record was not written yet), twice; then the send, twice.
    await recordCouponUse(deps, use);
    await recordCouponUse(deps, use);
    expect((await coupons.campaignUses("camp-1")).used).toBe(0);
    await recordIssuedCoupon(deps, issue("2001"));
    await recordIssuedCoupon(deps, issue("2001"));
    await recordCouponUse(deps, { ...use, notificationId: "EV-again" });
    const totals = await coupons.campaignUses("camp-1");
    expect(totals).toMatchObject({ used: 1, usedAmount: 500, usesByDay: { "2026-12-01": 1 } });
    // Sent at 01:00Z, used at 03:00Z (11:00 in China).
    expect(totals.timeToUse).toEqual({ [timeToUseBucket(7_200_000)]: 1 });
    expect(await coupons.get("2001")).toMatchObject({ state: "USED", issuedByService: true, counted: true });
  });

  it("does not count a use of a coupon no campaign issued", async () => {
    const deps = { coupons, clock };
    await recordIssuedCoupon(deps, { ...issue("2002"), campaignId: undefined });
    const change = await recordCouponUse(deps, couponUseFromNotification(useNotification("2002"))!);
    expect(change.record).toMatchObject({ state: "USED", counted: false });
  });

  it("turns busy into an error so the delivery is retried", async () => {
    const busy = overriding(coupons, { countUse: async () => "busy" as const });
    await recordIssuedCoupon({ coupons, clock }, issue("2003"));
    const use: CouponUse = couponUseFromNotification(useNotification("2003"))!;
    await expect(recordCouponUse({ coupons: busy, clock }, use)).rejects.toBeInstanceOf(CouponCountBusyError);
    await recordCouponUse({ coupons, clock }, use);
    expect((await coupons.campaignUses("camp-1")).used).toBe(1);
  });
});

describe("what a reader sees", () => {
  const campaigns = new MemoryCampaignStore();
  const coupons = new MemoryCouponStore();
  const END = T0 + 86_400_000;
  const deps = { coupons, campaigns, clock, stockEnd: async () => END };

  beforeEach(async () => {
    now = T0;
    if (await campaigns.get("camp-r")) return;
    await campaigns.create({
      id: "camp-r",
      requestHash: "h",
      mchid: "1900000001",
      stockId: "9856000",
      appid: "wx1",
      total: 2,
      ratePerSecond: 10,
      createdAt: T0,
    });
    await recordIssuedCoupon({ coupons, clock }, issue("3001", "camp-r"));
    await recordIssuedCoupon({ coupons, clock }, issue("3002", "camp-r"));
    await recordCouponUse({ coupons, clock }, couponUseFromNotification(useNotification("3002"))!);
  });

  it("derives EXPIRED for an unused coupon once the stock's window has passed, never for a used one", async () => {
    expect(effectiveState({ state: "SENT" }, END, END)).toBe("SENT");
    expect(effectiveState({ state: "SENT" }, END, END + 1)).toBe("EXPIRED");
    expect(effectiveState({ state: "USED" }, END, END + 1)).toBe("USED");
    expect(effectiveState({ state: "SENT" }, undefined, END + 1)).toBe("SENT");
    now = END + 1;
    expect((await getCoupon(deps, "3001"))?.state).toBe("EXPIRED");
    expect((await getCoupon(deps, "3002"))?.state).toBe("USED");
    expect(await getCoupon(deps, "9999")).toBeUndefined();
  });

  it("lists SENT before the window ends and EXPIRED after, from the same records", async () => {
    const ids = async (state: "SENT" | "EXPIRED") =>
      (await listCampaignCoupons(deps, "camp-r", { limit: 10, state })).items.map((c) => c.record.couponId);
    expect(await ids("SENT")).toEqual(["3001"]);
    expect(await ids("EXPIRED")).toEqual([]);
    now = END + 1;
    expect(await ids("SENT")).toEqual([]);
    expect(await ids("EXPIRED")).toEqual(["3001"]);
    const all = await listCampaignCoupons(deps, "camp-r", { limit: 10 });
    expect(all.items.map((c) => c.state)).toEqual(["EXPIRED", "USED"]);
  });

  it("shows a recorded expiry as EXPIRED in every list, before and after our clock passes the end", async () => {
    const expired = new MemoryCouponStore();
    const readers = { ...deps, coupons: expired };
    for (const id of ["4001", "4002"]) await recordIssuedCoupon({ coupons: expired, clock }, issue(id, "camp-r"));
    // Recorded by a run whose WeChat served the flows while our clock is still before the end.
    await expired.recordExpiry({ couponId: "4001", expiredAt: END, source: "reconciliation" }, T0);
    const list = async (state?: "SENT" | "EXPIRED") =>
      (await listCampaignCoupons(readers, "camp-r", { limit: 10, ...(state ? { state } : {}) })).items.map(
        (c) => `${c.record.couponId}:${c.state}`,
      );
    expect(await list("SENT")).toEqual(["4002:SENT"]);
    expect(await list("EXPIRED")).toEqual(["4001:EXPIRED"]);
    expect((await getCoupon(readers, "4001"))?.state).toBe("EXPIRED");
    now = END + 1;
    expect(await list("SENT")).toEqual([]);
    expect(await list("EXPIRED")).toEqual(["4001:EXPIRED", "4002:EXPIRED"]);
    expect(await list()).toEqual(["4001:EXPIRED", "4002:EXPIRED"]);
  });

  it("refuses a used_from with another state, and an empty time range", async () => {
    await expect(
      listCampaignCoupons(deps, "camp-r", { limit: 10, state: "SENT", usedFrom: T0 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(listCampaignCoupons(deps, "camp-r", { limit: 10, usedFrom: T0, usedTo: T0 })).rejects.toMatchObject({
      field: "used_to",
    });
  });

  it("shows the send first in a coupon's history, even when its use was recorded first or in the same second", () => {
    const history = sortHistory([
      { state: "USED", at: 1_000, source: "notification" },
      { state: "SENT", at: 1_500, source: "send" },
      { state: "REFUNDED", at: 900, source: "reconciliation" },
    ]);
    expect(history.map((h) => h.state)).toEqual(["SENT", "REFUNDED", "USED"]);
  });
});

describe("time-to-use histogram", () => {
  it("puts every time within 9.1 % of its bucket's middle", () => {
    for (const ms of [1_000, 1_500, 59_000, 3_600_000, 86_400_000, 90 * 86_400_000]) {
      const middle = bucketMidpointMs(timeToUseBucket(ms));
      // 2^(1/8) - 1 = 9.05 %, and the middle is rounded to whole ms.
      expect(Math.abs(middle - ms) / ms).toBeLessThanOrEqual(0.091);
    }
    expect(timeToUseBucket(-500)).toBe(0);
    expect(timeToUseBucket(999)).toBe(0);
    expect(timeToUseBucket(90 * 86_400_000)).toBeLessThanOrEqual(93);
  });

  it("answers the lower median's bucket", () => {
    expect(histogramMedianMs({})).toBeUndefined();
    const minute = timeToUseBucket(60_000);
    const day = timeToUseBucket(86_400_000);
    expect(histogramMedianMs({ [minute]: 2, [day]: 1 })).toBe(bucketMidpointMs(minute));
    expect(histogramMedianMs({ [minute]: 1, [day]: 2 })).toBe(bucketMidpointMs(day));
    expect(histogramMedianMs({ [minute]: 1, [day]: 1 })).toBe(bucketMidpointMs(minute));
  });
});
