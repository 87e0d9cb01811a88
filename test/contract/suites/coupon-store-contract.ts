import { randomInt, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { timeToUseBucket } from "#shared/domain/coupons/time-to-use.js";
import { ConflictError, NotFoundError, ValidationError } from "#shared/domain/errors.js";
import type { CouponIssue, CouponStore, CouponUse } from "#shared/domain/ports.js";

const T0 = Date.parse("2026-12-01T02:00:00.000Z");
const LEASE = 60_000;
const couponId = () => String(randomInt(1, 2 ** 47)) + String(randomInt(1000, 9999));

export function issue(overrides: Partial<CouponIssue> = {}): CouponIssue {
  return {
    couponId: couponId(),
    stockId: "9856000",
    mchid: "1900000001",
    outRequestNo: `out-${randomUUID()}`,
    openid: "o4GgauInH_RCEdvrrNGrntXDuXXX",
    appid: "wx233544546545989",
    campaignId: `camp-${randomUUID()}`,
    sentAt: T0,
    ...overrides,
  };
}

export function use(id: string, overrides: Partial<CouponUse> = {}): CouponUse {
  const usedAt = overrides.usedAt ?? T0 + 3_600_000;
  return {
    couponId: id,
    stockId: "9856000",
    transactionId: `4200${randomInt(10 ** 9, 10 ** 10 - 1)}`,
    consumeTime: new Date(usedAt + 8 * 3_600_000).toISOString().replace("Z", "+08:00").replace(".000", ""),
    usedAt,
    consumeMchid: "1900000001",
    amount: 500,
    couponAmount: 500,
    source: "notification",
    notificationId: randomUUID(),
    ...overrides,
  };
}

/** The behaviour every `CouponStore` must have; run against each implementation. */
export function couponStoreContract(backend: string, makeStore: () => CouponStore) {
  describe(`CouponStore contract (${backend})`, () => {
    it("creates a coupon SENT once per issue; the same issue again changes nothing; another send conflicts", async () => {
      const store = makeStore();
      const sent = issue();
      const first = await store.recordIssued(sent, T0 + 1);
      expect(first).toEqual({
        changed: true,
        record: {
          couponId: sent.couponId,
          stockId: sent.stockId,
          state: "SENT",
          issuedByService: true,
          mchid: sent.mchid,
          outRequestNo: sent.outRequestNo,
          openid: sent.openid,
          appid: sent.appid,
          campaignId: sent.campaignId,
          sentAt: T0,
          transactionIds: [],
          history: [{ state: "SENT", at: T0, source: "send", outRequestNo: sent.outRequestNo }],
          counted: false,
          createdAt: T0 + 1,
          updatedAt: T0 + 1,
        },
      });
      expect(await store.recordIssued(sent, T0 + 2)).toEqual({ changed: false, record: first.record });
      const other = store.recordIssued({ ...sent, outRequestNo: "another" }, T0 + 3);
      await expect(other).rejects.toBeInstanceOf(ConflictError);
      await expect(other).rejects.toMatchObject({ code: "COUPON_ID_REISSUED", field: "coupon_id" });
      expect(await store.get(sent.couponId)).toEqual(first.record);
    });

    it("turns SENT into USED with WeChat's transaction, once: the same use again is a no-op", async () => {
      const store = makeStore();
      const sent = issue();
      await store.recordIssued(sent, T0);
      const used = use(sent.couponId, { availableEndTime: T0 + 86_400_000 });
      const change = await store.recordUse(used, T0 + 10);
      expect(change.changed).toBe(true);
      expect(change.record).toMatchObject({
        state: "USED",
        issuedByService: true,
        usedAt: used.usedAt,
        consumeTime: used.consumeTime,
        consumeMchid: "1900000001",
        transactionIds: [used.transactionId],
        usedAmount: 500,
        couponAmount: 500,
        availableEndTime: T0 + 86_400_000,
        updatedAt: T0 + 10,
      });
      expect(change.record.history.map((h) => h.state)).toEqual(["SENT", "USED"]);
      expect(change.record.history[1]).toEqual({
        state: "USED",
        at: used.usedAt,
        source: "notification",
        amount: 500,
        transactionId: used.transactionId,
        notificationId: used.notificationId,
      });
      const again = await store.recordUse({ ...used, notificationId: randomUUID() }, T0 + 20);
      expect(again).toEqual({ changed: false, record: change.record });
    });

    it("records a use of a coupon it never saw issued, and completes it when the send comes after", async () => {
      const store = makeStore();
      const sent = issue();
      const used = use(sent.couponId);
      const first = await store.recordUse(used, T0 + 10);
      expect(first.record).toMatchObject({
        state: "USED",
        issuedByService: false,
        transactionIds: [used.transactionId],
      });
      expect(first.record.campaignId).toBeUndefined();
      expect(await store.countUse(sent.couponId, T0 + 11, LEASE)).toBe("not_countable");
      const issued = await store.recordIssued(sent, T0 + 20);
      expect(issued.changed).toBe(true);
      expect(issued.record).toMatchObject({
        state: "USED",
        issuedByService: true,
        campaignId: sent.campaignId,
        outRequestNo: sent.outRequestNo,
        sentAt: T0,
      });
      expect(issued.record.history.map((h) => h.state)).toEqual(["USED", "SENT"]);
      expect(await store.countUse(sent.couponId, T0 + 21, LEASE)).toBe("counted");
      expect((await store.campaignUses(sent.campaignId!)).used).toBe(1);
    });

    it("appends a further use with another transaction, refunds a use once, and refuses a refund of the unknown", async () => {
      const store = makeStore();
      const sent = issue();
      await store.recordIssued(sent, T0);
      const first = use(sent.couponId);
      await store.recordUse(first, T0 + 1);
      const refund = {
        couponId: sent.couponId,
        stockId: sent.stockId,
        refundedAt: T0 + 7_200_000,
        amount: 500,
        transactionId: first.transactionId,
        source: "reconciliation" as const,
      };
      const refunded = await store.recordRefund(refund, T0 + 2);
      expect(refunded.changed).toBe(true);
      expect(refunded.record).toMatchObject({ state: "REFUNDED", refundedAt: refund.refundedAt });
      expect(await store.recordRefund(refund, T0 + 3)).toEqual({ changed: false, record: refunded.record });
      const second = use(sent.couponId, { usedAt: T0 + 9_000_000, amount: 300 });
      const again = await store.recordUse(second, T0 + 4);
      expect(again.changed).toBe(true);
      expect(again.record).toMatchObject({
        state: "USED",
        usedAt: first.usedAt,
        transactionIds: [first.transactionId, second.transactionId],
        usedAmount: 800,
      });
      expect(again.record.history.map((h) => h.state)).toEqual(["SENT", "USED", "REFUNDED", "USED"]);
      await expect(store.recordRefund({ ...refund, couponId: couponId() }, T0)).rejects.toBeInstanceOf(NotFoundError);
      const unused = issue();
      await store.recordIssued(unused, T0);
      expect((await store.recordRefund({ ...refund, couponId: unused.couponId }, T0)).changed).toBe(false);
    });

    it("counts a campaign's first uses once each: amount, day, time to use, earliest and fastest", async () => {
      const store = makeStore();
      const campaignId = `camp-${randomUUID()}`;
      expect(await store.campaignUses(campaignId)).toEqual({
        campaignId,
        used: 0,
        usedAmount: 0,
        usesByDay: {},
        timeToUse: {},
      });
      const a = issue({ campaignId });
      const b = issue({ campaignId, sentAt: T0 + 1_000 });
      const c = issue({ campaignId });
      for (const i of [a, b, c]) await store.recordIssued(i, T0);
      // a: used 1 h after its send (2026-12-01 11:00 in China); b: 17 h after (2026-12-02 03:00 in China).
      await store.recordUse(use(a.couponId, { usedAt: T0 + 3_600_000, amount: 500 }), T0);
      await store.recordUse(use(b.couponId, { usedAt: T0 + 1_000 + 61_200_000, amount: 300 }), T0);
      expect(await store.countUse(c.couponId, T0, LEASE)).toBe("not_countable");
      expect(await store.countUse(a.couponId, T0, LEASE)).toBe("counted");
      expect(await store.countUse(a.couponId, T0, LEASE)).toBe("already");
      expect(await store.countUse(b.couponId, T0, LEASE)).toBe("counted");
      expect(await store.countUse(couponId(), T0, LEASE)).toBe("not_countable");
      expect(await store.campaignUses(campaignId)).toEqual({
        campaignId,
        used: 2,
        usedAmount: 800,
        firstUsedAt: T0 + 3_600_000,
        fastestUseMs: 3_600_000,
        usesByDay: { "2026-12-01": 1, "2026-12-02": 1 },
        timeToUse: { [timeToUseBucket(3_600_000)]: 1, [timeToUseBucket(61_200_000)]: 1 },
      });
      expect((await store.get(a.couponId))?.counted).toBe(true);
    });

    it("counts a use once under 20 concurrent counters", async () => {
      const store = makeStore();
      const sent = issue();
      await store.recordIssued(sent, T0);
      await store.recordUse(use(sent.couponId), T0);
      const results = await Promise.all(Array.from({ length: 20 }, () => store.countUse(sent.couponId, T0, LEASE)));
      expect(results.filter((r) => r === "counted")).toHaveLength(1);
      expect(results.every((r) => ["counted", "already", "busy"].includes(r))).toBe(true);
      expect((await store.campaignUses(sent.campaignId!)).used).toBe(1);
    });

    it("lists a campaign's coupons by state and time of use, page by page, with cursors of this list only", async () => {
      const store = makeStore();
      const campaignId = `camp-${randomUUID()}`;
      const issued = Array.from({ length: 6 }, (_, i) => issue({ campaignId, sentAt: T0 + i }));
      for (const i of issued) await store.recordIssued(i, T0);
      await store.recordIssued(issue(), T0);
      await store.recordIssued(issue({ campaignId: undefined }), T0);
      const hour = 3_600_000;
      for (const [n, i] of issued.slice(0, 4).entries())
        await store.recordUse(use(i.couponId, { usedAt: T0 + (n + 1) * hour }), T0);

      const all: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listByCampaign(campaignId, { limit: 4, ...(cursor ? { cursor } : {}) });
        all.push(...page.items.map((r) => `${r.state}:${r.couponId}`));
        cursor = page.cursor;
      } while (cursor);
      expect(all).toEqual([
        ...issued.slice(4).map((i) => `SENT:${i.couponId}`),
        ...issued.slice(0, 4).map((i) => `USED:${i.couponId}`),
      ]);

      const used = await store.listByCampaign(campaignId, {
        limit: 10,
        state: "USED",
        usedFrom: T0 + 2 * hour,
        usedTo: T0 + 4 * hour,
      });
      expect(used.items.map((r) => r.couponId)).toEqual([issued[1]!.couponId, issued[2]!.couponId]);
      expect(used.cursor).toBeUndefined();
      const sent = await store.listByCampaign(campaignId, { limit: 10, state: "SENT" });
      expect(sent.items.map((r) => r.couponId)).toEqual([issued[4]!.couponId, issued[5]!.couponId]);
      expect((await store.listByCampaign(campaignId, { limit: 10, state: "REFUNDED" })).items).toEqual([]);

      const first = await store.listByCampaign(campaignId, { limit: 1 });
      await expect(
        store.listByCampaign(`${campaignId}-other`, { limit: 1, cursor: first.cursor! }),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(store.listByCampaign(campaignId, { limit: 1, cursor: "not-a-cursor" })).rejects.toMatchObject({
        field: "cursor",
      });
      // A cursor of the whole list (it stops among the SENT coupons) asked with a filter it is outside of: refused
      // naming the cursor, never handed to the store (DynamoDB refuses a start key outside the key condition).
      await expect(
        store.listByCampaign(campaignId, { limit: 1, state: "USED", cursor: first.cursor! }),
      ).rejects.toMatchObject({ field: "cursor" });
      // Inside its range, a cursor of the same filter goes on.
      const usedFirst = await store.listByCampaign(campaignId, { limit: 1, state: "USED" });
      const usedNext = await store.listByCampaign(campaignId, { limit: 1, state: "USED", cursor: usedFirst.cursor! });
      expect(usedNext.items.map((r) => r.couponId)).toEqual([issued[1]!.couponId]);
    });

    it("records an unused coupon EXPIRED once, lists it among the unused, and lets a later use win", async () => {
      const store = makeStore();
      const end = T0 + 30 * 86_400_000;
      const campaignId = `camp-${randomUUID()}`;
      const unused = issue({ campaignId });
      const used = issue({ campaignId });
      await store.recordIssued(unused, T0);
      await store.recordIssued(used, T0);
      await store.recordUse(use(used.couponId), T0);
      const expiry = { expiredAt: end, source: "reconciliation" as const, reconciliationId: "auto-9856000" };

      const first = await store.recordExpiry({ couponId: unused.couponId, ...expiry }, end + 1);
      expect(first.changed).toBe(true);
      expect(first.record).toMatchObject({
        state: "EXPIRED",
        expiredAt: end,
        availableEndTime: end,
        updatedAt: end + 1,
      });
      expect(first.record.history.at(-1)).toEqual({
        state: "EXPIRED",
        at: end,
        source: "reconciliation",
        reconciliationId: "auto-9856000",
      });
      const again = await store.recordExpiry({ couponId: unused.couponId, ...expiry }, end + 2);
      expect(again).toEqual({ changed: false, record: first.record });
      expect((await store.recordExpiry({ couponId: used.couponId, ...expiry }, end + 2)).changed).toBe(false);
      expect((await store.get(used.couponId))!.state).toBe("USED");
      await expect(store.recordExpiry({ couponId: couponId(), ...expiry }, end)).rejects.toBeInstanceOf(NotFoundError);

      // Unused coupons keep one place in the campaign's list whether stored SENT or EXPIRED.
      const unusedList = await store.listByCampaign(campaignId, { limit: 10, state: "SENT" });
      expect(unusedList.items.map((r) => [r.couponId, r.state])).toEqual([[unused.couponId, "EXPIRED"]]);

      // A use WeChat reports later wins over the expiry recorded for want of one.
      const late = await store.recordUse(use(unused.couponId, { source: "reconciliation" }), end + 3);
      expect(late.changed).toBe(true);
      expect(late.record).toMatchObject({ state: "USED", foundBy: "reconciliation", expiredAt: end });
      expect(await store.countUse(unused.couponId, end + 3, LEASE)).toBe("counted");
      expect((await store.listByCampaign(campaignId, { limit: 10, state: "SENT" })).items).toEqual([]);
    });

    it("lists the ids of a stock's issued coupons (any state, any campaign or none) by id, page by page", async () => {
      const store = makeStore();
      const stockId = String(randomInt(10_000_000, 99_999_999));
      const issued = [
        issue({ stockId }),
        issue({ stockId, campaignId: undefined }),
        issue({ stockId, campaignId: "other" }),
        issue({ stockId }),
        issue({ stockId }),
      ];
      for (const i of issued) await store.recordIssued(i, T0);
      await store.recordUse(use(issued[0]!.couponId, { stockId }), T0);
      await store.recordUse(use(couponId(), { stockId }), T0); // not issued by this service: not listed
      await store.recordIssued(issue(), T0); // another stock

      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listIssuedByStock(stockId, { limit: 2, ...(cursor ? { cursor } : {}) });
        ids.push(...page.items);
        cursor = page.cursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(ids).toEqual(issued.map((i) => i.couponId).sort());
      const first = await store.listIssuedByStock(stockId, { limit: 1 });
      await expect(store.listIssuedByStock("other-stock", { limit: 1, cursor: first.cursor! })).rejects.toMatchObject({
        field: "cursor",
      });
    });
  });
}
