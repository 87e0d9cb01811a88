import { randomInt, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type {
  CouponStore,
  ReconciliationFinding,
  ReconciliationRecord,
  ReconciliationStore,
} from "#shared/domain/ports.js";
import { emptyCounts } from "#shared/domain/reconciliation/reconcile-run.js";
import { issue } from "./coupon-store-contract.js";

const T0 = Date.parse("2026-12-20T02:00:00.000Z");

function run(overrides: Partial<ReconciliationRecord> = {}): ReconciliationRecord {
  return {
    id: `run-${randomUUID()}`,
    stockId: String(randomInt(10_000_000, 99_999_999)),
    trigger: "request",
    status: "RUNNING",
    phase: "use",
    offset: 0,
    counts: emptyCounts(),
    availableAt: T0,
    availableEndTime: T0 - 36_000_000,
    failures: 0,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function finding(overrides: Partial<ReconciliationFinding> = {}): ReconciliationFinding {
  return {
    kind: "use_recovered",
    flow: "use",
    couponId: String(randomInt(1, 2 ** 47)),
    stockId: "9856000",
    transactionId: `4200${randomInt(10 ** 9, 10 ** 10 - 1)}`,
    at: "2026-12-08T12:00:00+08:00",
    amount: 100,
    ...overrides,
  };
}

/** The behaviour every `ReconciliationStore` must have (with the coupon store that registers issued stocks). */
export function reconciliationStoreContract(
  backend: string,
  make: () => { runs: ReconciliationStore; coupons: CouponStore },
) {
  describe(`ReconciliationStore contract (${backend})`, () => {
    it("creates a run once, lists it while RUNNING and leases it to one invocation at a time", async () => {
      const { runs } = make();
      const created = run();
      expect(await runs.create(created)).toEqual({ changed: true, record: created });
      expect(await runs.create({ ...created, stockId: "other" })).toEqual({ changed: false, record: created });
      expect((await runs.listRunning(1000)).map((r) => r.id)).toContain(created.id);
      const leased = await runs.lease(created.id, T0, T0 + 60_000);
      expect(leased).toMatchObject({ id: created.id, leaseUntil: T0 + 60_000 });
      expect(await runs.lease(created.id, T0 + 1, T0 + 60_001)).toBeUndefined();
      await runs.release(created.id, T0 + 60_000, T0 + 5);
      expect(await runs.lease(created.id, T0 + 6, T0 + 70_000)).toMatchObject({ leaseUntil: T0 + 70_000 });
    });

    it("moves the checkpoint and adds counts only from the position it was at, under the lease", async () => {
      const { runs } = make();
      const created = run();
      await runs.create(created);
      const lease = T0 + 60_000;
      await runs.lease(created.id, T0, lease);
      const from = { phase: "use" as const, offset: 0 };
      const to = { phase: "use" as const, offset: 2000 };
      expect(await runs.checkpoint(created.id, lease, from, to, { use_rows: 2000, use_recovered: 3 }, T0 + 1)).toBe(
        true,
      );
      // The same segment again (a stale invocation): refused, counted once.
      expect(await runs.checkpoint(created.id, lease, from, to, { use_rows: 2000, use_recovered: 3 }, T0 + 2)).toBe(
        false,
      );
      expect(await runs.checkpoint(created.id, lease + 1, to, { phase: "refund", offset: 0 }, {}, T0 + 3)).toBe(false);
      expect(
        await runs.checkpoint(created.id, lease, to, { phase: "refund", offset: 0 }, { not_issued: 1 }, T0 + 4),
      ).toBe(true);
      expect(await runs.get(created.id)).toMatchObject({
        phase: "refund",
        offset: 0,
        counts: { use_rows: 2000, refund_rows: 0, use_recovered: 3, refund_recorded: 0, not_issued: 1 },
      });
      // The expiry phase keeps its list cursor with the offset, and drops it at the list's end.
      const expiring = { phase: "expire" as const, offset: 100, cursor: "eyJwayI6IkNPVVBPTiMxIn0" };
      const refundDone = { phase: "refund" as const, offset: 0 };
      expect(await runs.checkpoint(created.id, lease, refundDone, expiring, { expired: 60 }, T0 + 5)).toBe(true);
      expect(await runs.get(created.id)).toMatchObject({ ...expiring, counts: { expired: 60 } });
      expect(
        await runs.checkpoint(created.id, lease, expiring, { phase: "expire", offset: 130 }, { expired: 5 }, T0 + 6),
      ).toBe(true);
      const ended = (await runs.get(created.id))!;
      expect(ended).toMatchObject({ phase: "expire", offset: 130, counts: { expired: 65 } });
      expect(ended.cursor).toBeUndefined();
      expect(ended.availableEndTime).toBe(created.availableEndTime);
    });

    it("counts failures, releases the lease on one, and finishes once (leaving the running list)", async () => {
      const { runs } = make();
      const created = run();
      await runs.create(created);
      await runs.lease(created.id, T0, T0 + 60_000);
      const failed = await runs.recordFailure(created.id, T0 + 60_000, { code: "X", message: "boom" }, T0 + 10);
      expect(failed).toMatchObject({ failures: 1, lastError: { code: "X", message: "boom" }, status: "RUNNING" });
      expect(await runs.lease(created.id, T0 + 11, T0 + 100_000)).toBeDefined();
      expect(await runs.finish(created.id, T0 + 1, "COMPLETED", T0 + 12)).toBe(false);
      expect(await runs.finish(created.id, T0 + 100_000, "COMPLETED", T0 + 13)).toBe(true);
      expect(await runs.finish(created.id, T0 + 100_000, "COMPLETED", T0 + 14)).toBe(false);
      expect(await runs.get(created.id)).toMatchObject({ status: "COMPLETED", completedAt: T0 + 13 });
      expect((await runs.listRunning(1000)).map((r) => r.id)).not.toContain(created.id);
      expect(await runs.lease(created.id, T0 + 200_000, T0 + 300_000)).toBeUndefined();
    });

    it("keeps each finding once however often it is written, ordered by kind then coupon, paged", async () => {
      const { runs } = make();
      const id = `run-${randomUUID()}`;
      const items = [
        finding({ kind: "use_recovered", couponId: "200" }),
        finding({ kind: "not_issued", couponId: "300" }),
        finding({ kind: "refund_recorded", flow: "refund", couponId: "100", refundId: "R1" }),
      ];
      await runs.putFindings(id, items);
      await runs.putFindings(id, items);
      const first = await runs.listFindings(id, { limit: 2 });
      expect(first.items.map((f) => f.kind)).toEqual(["not_issued", "refund_recorded"]);
      expect(first.items[1]).toEqual(items[2]);
      const second = await runs.listFindings(id, { limit: 2, cursor: first.cursor! });
      expect(second).toEqual({ items: [items[0]] });
      await expect(runs.listFindings(id, { limit: 2, cursor: "bm9wZQ" })).rejects.toMatchObject({ field: "cursor" });
      // The right list's name with keys it never returned: refused naming the cursor, never a store error (a 500).
      const crafted = Buffer.from(JSON.stringify({ pk: "x", gsi1pk: `RECON#${id}#FINDINGS`, gsi1sk: "y" })).toString(
        "base64url",
      );
      await expect(runs.listFindings(id, { limit: 2, cursor: crafted })).rejects.toMatchObject({ field: "cursor" });
    });

    it("lists the stocks coupons were issued of as pending until marked reconciled", async () => {
      const { runs, coupons } = make();
      const stockId = String(randomInt(10_000_000, 99_999_999));
      await coupons.recordIssued(issue({ stockId }), T0);
      await coupons.recordIssued(issue({ stockId }), T0);
      const pending = async () => (await runs.pendingStocks(10_000)).filter((s) => s.stockId === stockId);
      expect(await pending()).toEqual([{ stockId }]);
      await runs.updatePendingStock(stockId, { availableEndTime: T0 + 5, nextCheckAt: T0 + 6 });
      expect(await pending()).toEqual([{ stockId, availableEndTime: T0 + 5, nextCheckAt: T0 + 6 }]);
      await runs.markStockReconciled(stockId, "auto-x", T0 + 7);
      expect(await pending()).toEqual([]);
    });

    it("reads coupons a hundred at a time, leaving out the unknown ones", async () => {
      const { coupons } = make();
      const issued = await Promise.all(Array.from({ length: 3 }, () => coupons.recordIssued(issue(), T0)));
      const ids = issued.map((c) => c.record.couponId);
      const found = await coupons.getMany([...ids, "no-such-coupon"]);
      expect([...found.keys()].sort()).toEqual([...ids].sort());
      expect(found.get(ids[0]!)).toEqual(issued[0]!.record);
    });
  });
}
