import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "#shared/domain/errors.js";
import type { NewSendRecord, SendLedger } from "#shared/domain/ports.js";

const T0 = 1_800_000_000_000;

export function newSend(overrides: Partial<NewSendRecord> = {}): NewSendRecord {
  return {
    mchid: "1900000109",
    outRequestNo: `send-${randomUUID()}`,
    requestHash: "hash-a",
    stockId: "9856000",
    openid: "o4GgauInH_RCEdvrrNGrntXDuXXX",
    appid: "wx233544546545989",
    createdAt: T0,
    ...overrides,
  };
}

/** The behaviour every `SendLedger` must have; run against each implementation. */
export function sendLedgerContract(backend: string, makeLedger: () => SendLedger) {
  describe(`SendLedger contract (${backend})`, () => {
    it("creates a PENDING, unleased, uncounted record on the first claim", async () => {
      const ledger = makeLedger();
      const input = newSend({ campaignId: "c1" });
      const { created, record } = await ledger.claim(input);
      expect(created).toBe(true);
      expect(record).toEqual({ ...input, state: "PENDING", attempts: 0, leaseUntil: 0, counted: false, updatedAt: T0 });
      expect(await ledger.get(input)).toEqual(record);
    });

    it("returns the stored record, unchanged, when the key is claimed again (even with another hash)", async () => {
      const ledger = makeLedger();
      const input = newSend();
      const first = await ledger.claim(input);
      const again = await ledger.claim({ ...input, requestHash: "hash-b", openid: "other", createdAt: T0 + 5 });
      expect(again.created).toBe(false);
      expect(again.record).toEqual(first.record);
    });

    it("creates the record already leased to the claimant when leaseMs is given", async () => {
      const ledger = makeLedger();
      const { record } = await ledger.claim(newSend(), { leaseMs: 30_000 });
      expect(record).toMatchObject({ state: "PENDING", attempts: 1, leaseUntil: T0 + 30_000 });
    });

    it("lets exactly one of 200 concurrent claims of one key create the record", async () => {
      const ledger = makeLedger();
      const input = newSend();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => ledger.claim({ ...input, requestHash: `hash-${i}` })),
      );
      const created = results.filter((r) => r.created);
      expect(created).toHaveLength(1);
      const winner = created[0]!.record.requestHash;
      for (const r of results) expect(r.record.requestHash).toBe(winner);
    });

    it("grants a lease once, reports busy until it expires, then lets a second worker in", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input);
      const first = await ledger.acquireLease(input, T0 + 1_000, 10_000);
      expect(first).toMatchObject({
        status: "acquired",
        record: { attempts: 1, leaseUntil: T0 + 11_000, updatedAt: T0 + 1_000 },
      });
      const busy = await ledger.acquireLease(input, T0 + 10_999, 10_000);
      expect(busy).toMatchObject({ status: "busy", record: { attempts: 1, leaseUntil: T0 + 11_000 } });
      const second = await ledger.acquireLease(input, T0 + 11_000, 10_000);
      expect(second).toMatchObject({ status: "acquired", record: { attempts: 2, leaseUntil: T0 + 21_000 } });
    });

    it("grants one lease among 20 concurrent workers", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input);
      const results = await Promise.all(Array.from({ length: 20 }, () => ledger.acquireLease(input, T0 + 1, 5_000)));
      expect(results.filter((r) => r.status === "acquired")).toHaveLength(1);
      expect(results.filter((r) => r.status === "busy")).toHaveLength(19);
      expect((await ledger.get(input))?.attempts).toBe(1);
    });

    it("reports a missing record as missing", async () => {
      expect(await makeLedger().acquireLease(newSend(), T0, 1_000)).toEqual({ status: "missing" });
    });

    it("marks a send SENT once and answers a repeat of the same success without change", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input, { leaseMs: 10_000 });
      const first = await ledger.markSent(input, "coupon-1", T0 + 500);
      expect(first.changed).toBe(true);
      expect(first.record).toMatchObject({ state: "SENT", couponId: "coupon-1", leaseUntil: 0, updatedAt: T0 + 500 });
      const again = await ledger.markSent(input, "coupon-1", T0 + 900);
      expect(again).toEqual({ changed: false, record: first.record });
      expect(await ledger.acquireLease(input, T0 + 1_000_000, 1_000)).toEqual({
        status: "final",
        record: first.record,
      });
    });

    it("refuses a second, different coupon_id for a sent record", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input);
      await ledger.markSent(input, "coupon-1", T0 + 1);
      const error = await ledger.markSent(input, "coupon-2", T0 + 2).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ code: "COUPON_ID_MISMATCH", field: "coupon_id" });
      expect((await ledger.get(input))?.couponId).toBe("coupon-1");
    });

    it("lets a late success override a recorded failure (the coupon exists)", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input);
      await ledger.markFailed(input, { code: "SYSTEM_ERROR", message: "gave up" }, T0 + 1);
      const late = await ledger.markSent(input, "coupon-9", T0 + 2);
      expect(late.changed).toBe(true);
      expect(late.record.state).toBe("SENT");
      expect(late.record.errorCode).toBeUndefined();
      expect(late.record.errorMessage).toBeUndefined();
    });

    it("marks a PENDING send FAILED once; a later failure or a sent record is left alone", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input, { leaseMs: 1_000 });
      const failed = await ledger.markFailed(input, { code: "NOT_ENOUGH", message: "budget exhausted" }, T0 + 10);
      expect(failed.changed).toBe(true);
      expect(failed.record).toMatchObject({
        state: "FAILED",
        errorCode: "NOT_ENOUGH",
        errorMessage: "budget exhausted",
        leaseUntil: 0,
      });
      const again = await ledger.markFailed(input, { code: "RULE_LIMIT", message: "x" }, T0 + 20);
      expect(again).toEqual({ changed: false, record: failed.record });

      const sent = newSend();
      await ledger.claim(sent);
      await ledger.markSent(sent, "coupon-1", T0 + 1);
      const notFailed = await ledger.markFailed(sent, { code: "NOT_ENOUGH", message: "late" }, T0 + 2);
      expect(notFailed.changed).toBe(false);
      expect(notFailed.record).toMatchObject({ state: "SENT", couponId: "coupon-1" });
    });

    it("throws NotFoundError when marking an unknown send", async () => {
      const ledger = makeLedger();
      await expect(ledger.markSent(newSend(), "c", T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(ledger.markFailed(newSend(), { code: "X", message: "y" }, T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(ledger.markCounted(newSend(), T0)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("releases only the caller's own lease, records the last error and lets a retry in at once", async () => {
      const ledger = makeLedger();
      const input = newSend();
      await ledger.claim(input);
      const lease = await ledger.acquireLease(input, T0, 60_000);
      if (lease.status !== "acquired") throw new Error("expected a lease");
      expect(await ledger.release(input, lease.record.leaseUntil + 1, T0 + 1)).toBe(false);
      const error = { code: "SYSTEM_ERROR", message: "wechat 500" };
      expect(await ledger.release(input, lease.record.leaseUntil, T0 + 2, error)).toBe(true);
      expect(await ledger.get(input)).toMatchObject({
        state: "PENDING",
        leaseUntil: 0,
        errorCode: "SYSTEM_ERROR",
        updatedAt: T0 + 2,
      });
      expect(await ledger.acquireLease(input, T0 + 3, 60_000)).toMatchObject({
        status: "acquired",
        record: { attempts: 2 },
      });
      // A stale holder (first lease) cannot free the second worker's lease.
      expect(await ledger.release(input, lease.record.leaseUntil, T0 + 4)).toBe(false);
    });

    it("does not release a final record", async () => {
      const ledger = makeLedger();
      const input = newSend();
      const { record } = await ledger.claim(input, { leaseMs: 1_000 });
      await ledger.markSent(input, "c1", T0 + 1);
      expect(await ledger.release(input, record.leaseUntil, T0 + 2)).toBe(false);
      expect(await ledger.release(newSend(), 0, T0)).toBe(false);
    });

    it("marks a record counted, idempotently, without touching its outcome", async () => {
      const ledger = makeLedger();
      const input = newSend({ campaignId: "c" });
      await ledger.claim(input);
      await ledger.markSent(input, "coupon-1", T0 + 1);
      await ledger.markCounted(input, T0 + 2);
      await ledger.markCounted(input, T0 + 3);
      expect(await ledger.get(input)).toMatchObject({ state: "SENT", couponId: "coupon-1", counted: true });
    });

    it("sets counted in the write that makes a record final, when asked, and only then", async () => {
      const ledger = makeLedger();
      const [sent, failed, plain] = [newSend({ campaignId: "c" }), newSend({ campaignId: "c" }), newSend()];
      for (const input of [sent, failed, plain]) await ledger.claim(input);
      expect((await ledger.markSent(sent, "coupon-1", T0 + 1, { counted: true })).record.counted).toBe(true);
      const failure = { code: "NOT_ENOUGH", message: "budget" };
      expect((await ledger.markFailed(failed, failure, T0 + 1, { counted: true })).record.counted).toBe(true);
      expect((await ledger.markSent(plain, "coupon-2", T0 + 1)).record.counted).toBe(false);
      // A refused transition writes nothing, counted included.
      expect((await ledger.markFailed(plain, failure, T0 + 2, { counted: true })).record).toMatchObject({
        state: "SENT",
        counted: false,
      });
    });

    it("reads unknown keys as undefined and hands out copies", async () => {
      const ledger = makeLedger();
      expect(await ledger.get(newSend())).toBeUndefined();
      const input = newSend();
      const { record } = await ledger.claim(input);
      record.state = "SENT";
      expect((await ledger.get(input))?.state).toBe("PENDING");
    });

    it("lists a campaign's sends in out_request_no order, page by page", async () => {
      const ledger = makeLedger();
      const campaignId = `camp-${randomUUID()}`;
      const names = ["r-05", "r-01", "r-04", "r-02", "r-03"];
      for (const outRequestNo of names)
        await ledger.claim(newSend({ outRequestNo: `${campaignId}-${outRequestNo}`, campaignId }));
      await ledger.claim(newSend({ campaignId: `${campaignId}-other` }));
      await ledger.claim(newSend());

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await ledger.listByCampaign(campaignId, { limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((r) => r.outRequestNo.slice(campaignId.length + 1)));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      expect(seen).toEqual(["r-01", "r-02", "r-03", "r-04", "r-05"]);
      expect(pages).toBe(3);
      const exact = await ledger.listByCampaign(campaignId, { limit: 5 });
      expect(exact.items).toHaveLength(5);
      expect(exact.cursor).toBeUndefined();
      expect((await ledger.listByCampaign(`${campaignId}-none`)).items).toEqual([]);
    });
  });
}
