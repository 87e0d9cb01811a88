import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NewSendRecord, SendLedger } from "#shared/domain/ports.js";
import { keyedLedgerContract, T0, uniqueKey } from "./keyed-ledger-contract.js";

export function newSend(overrides: Partial<NewSendRecord> = {}): NewSendRecord {
  return {
    ...uniqueKey("send"),
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
  keyedLedgerContract(`sends, ${backend}`, makeLedger, {
    newRecord: () => newSend({ campaignId: "c1" }),
    succeeded: "SENT",
    success: (couponId) => ({ couponId }),
    stored: (couponId) => ({ couponId }),
    mismatch: { code: "COUPON_ID_MISMATCH", field: "coupon_id" },
  });

  describe(`SendLedger contract (${backend})`, () => {
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
    it("refuses a cursor it did not return, or one of another campaign's list, naming the cursor", async () => {
      const ledger = makeLedger();
      const campaignId = `camp-${randomUUID()}`;
      for (const n of ["1", "2", "3"]) await ledger.claim(newSend({ outRequestNo: `${campaignId}-${n}`, campaignId }));
      const { cursor } = await ledger.listByCampaign(campaignId, { limit: 1 });
      expect(cursor).toBeDefined();
      const crafted = [
        "not-a-cursor",
        Buffer.from("[]").toString("base64url"),
        Buffer.from(JSON.stringify({ pk: { S: "x" }, gsi1pk: "x", gsi1sk: "y" })).toString("base64url"),
        Buffer.from(
          JSON.stringify({ ...JSON.parse(Buffer.from(cursor!, "base64url").toString()), extra: "1" }),
        ).toString("base64url"),
      ];
      for (const bad of [...crafted, cursor!]) {
        const list = bad === cursor ? `${campaignId}-other` : campaignId;
        await expect(ledger.listByCampaign(list, { cursor: bad })).rejects.toMatchObject({
          name: "ValidationError",
          field: "cursor",
        });
      }
      expect((await ledger.listByCampaign(campaignId, { cursor: cursor! })).items).toHaveLength(2);
    });

    it("records a send CANCELLED only if it has no record: never over a claimed one", async () => {
      const ledger = makeLedger();
      const campaignId = `camp-${randomUUID()}`;
      const fresh = newSend({ campaignId });
      const cancelled = await ledger.cancel(fresh, T0 + 5);
      expect(cancelled).toEqual({
        changed: true,
        record: {
          ...fresh,
          state: "CANCELLED",
          errorCode: "CANCELLED",
          errorMessage: expect.any(String),
          attempts: 0,
          leaseUntil: 0,
          updatedAt: T0 + 5,
        },
      });
      expect(await ledger.get(fresh)).toEqual(cancelled.record);
      // Final for every worker: no lease, no failure over it, and again is a no-op.
      expect(await ledger.acquireLease(fresh, T0 + 6, 1_000)).toMatchObject({ status: "final" });
      expect(await ledger.fail(fresh, { code: "X", message: "x" }, T0 + 7)).toMatchObject({ changed: false });
      expect(await ledger.cancel(fresh, T0 + 8)).toMatchObject({ changed: false, record: { state: "CANCELLED" } });
      expect((await ledger.listByCampaign(campaignId)).items.map((r) => r.state)).toEqual(["CANCELLED"]);

      const claimed = newSend({ campaignId });
      await ledger.claim(claimed, { leaseMs: 1_000 });
      expect(await ledger.cancel(claimed, T0 + 9)).toMatchObject({
        changed: false,
        record: { state: "PENDING", attempts: 1 },
      });
    });

    it("prepares PENDING never-leased records, leaving any record that exists as it is", async () => {
      const ledger = makeLedger();
      const campaignId = `camp-${randomUUID()}`;
      const [fresh, claimed, sent] = [1, 2, 3].map((n) => newSend({ outRequestNo: `${campaignId}-${n}`, campaignId }));
      await ledger.claim(claimed!, { leaseMs: 1_000 });
      await ledger.claim(sent!, { leaseMs: 1_000 });
      await ledger.succeed(sent!, { couponId: "98765" }, T0 + 1);

      await ledger.prepare([fresh!, claimed!, sent!]);
      await ledger.prepare([fresh!]); // a replay
      expect(await ledger.get(fresh!)).toEqual({
        ...fresh,
        state: "PENDING",
        attempts: 0,
        leaseUntil: 0,
        updatedAt: T0,
      });
      expect(await ledger.get(claimed!)).toMatchObject({ state: "PENDING", attempts: 1, leaseUntil: T0 + 1_000 });
      expect(await ledger.get(sent!)).toMatchObject({ state: "SENT", couponId: "98765" });
      expect((await ledger.listByCampaign(campaignId)).items.map((r) => r.state)).toEqual([
        "PENDING",
        "PENDING",
        "SENT",
      ]);

      // A prepared record is claimed by its send like any other: the claim finds it, the lease takes it.
      expect(await ledger.claim(fresh!, { leaseMs: 1_000 })).toMatchObject({ created: false, record: { attempts: 0 } });
      expect(await ledger.acquireLease(fresh!, T0 + 2, 1_000)).toMatchObject({
        status: "acquired",
        record: { attempts: 1, leaseUntil: T0 + 1_002 },
      });
      await ledger.prepare([]);
    });

    it("prepares a fresh campaign's records in batches: every one PENDING and never leased", async () => {
      const ledger = makeLedger();
      const campaignId = `camp-${randomUUID()}`;
      const fresh = Array.from({ length: 60 }, (_, n) =>
        newSend({ outRequestNo: `${campaignId}-${String(n).padStart(2, "0")}`, campaignId }),
      );
      await ledger.prepare(fresh, { fresh: true });
      const listed = (await ledger.listByCampaign(campaignId, { limit: 100 })).items;
      expect(listed).toEqual(fresh.map((r) => ({ ...r, state: "PENDING", attempts: 0, leaseUntil: 0, updatedAt: T0 })));
    });

    it("cancels a record WeChat certainly issued nothing for, never one whose call may have reached it", async () => {
      const ledger = makeLedger();
      const campaignId = `camp-${randomUUID()}`;
      const [idle, refused, unknown, held, lapsed] = [1, 2, 3, 4, 5].map((n) =>
        newSend({ outRequestNo: `${campaignId}-${n}`, campaignId }),
      );
      await ledger.prepare([idle!, refused!, unknown!, held!, lapsed!]);
      // Answered "nothing done" (a refusal retried or held), released: certainly not issued.
      await ledger.acquireLease(refused!, T0 + 1, 1_000);
      await ledger.release(refused!, T0 + 1_001, T0 + 2, { code: "RULE_LIMIT", message: "m" });
      // Its outcome unknown (a timeout): uncertain.
      await ledger.acquireLease(unknown!, T0 + 1, 1_000);
      await ledger.release(unknown!, T0 + 1_001, T0 + 2, { code: "TIMEOUT", message: "m", uncertain: true });
      // A call in flight, and one whose caller died (its lease lapsed, never released).
      await ledger.acquireLease(held!, T0 + 1, 100_000);
      await ledger.acquireLease(lapsed!, T0 + 1, 1);

      expect(await ledger.cancel(idle!, T0 + 3)).toMatchObject({
        changed: true,
        record: { state: "CANCELLED", attempts: 0, updatedAt: T0 + 3 },
      });
      expect(await ledger.get(idle!)).toMatchObject({ state: "CANCELLED", errorCode: "CANCELLED" });
      expect(await ledger.cancel(refused!, T0 + 4)).toMatchObject({
        changed: true,
        record: { state: "CANCELLED", attempts: 1, errorCode: "CANCELLED" },
      });
      for (const send of [unknown!, held!, lapsed!]) {
        expect(await ledger.cancel(send, T0 + 5)).toMatchObject({ changed: false, record: { state: "PENDING" } });
      }
      expect(await ledger.acquireLease(idle!, T0 + 5, 1_000)).toMatchObject({ status: "final" });
    });
  });
}
