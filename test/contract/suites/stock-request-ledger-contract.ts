import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "#shared/domain/errors.js";
import type { NewStockRequestRecord, StockRequestLedger } from "#shared/domain/ports.js";

const T0 = 1_800_000_000_000;

const newRequest = (overrides: Partial<NewStockRequestRecord> = {}): NewStockRequestRecord => ({
  mchid: "1900000109",
  outRequestNo: `stock-${randomUUID()}`,
  requestHash: "hash-a",
  createdAt: T0,
  ...overrides,
});

const wechatResult = {
  stock_id: "9856888",
  create_time: "2026-11-26T10:00:00+08:00",
  nested: { list: [1, "two", null] },
};

export function stockRequestLedgerContract(backend: string, makeLedger: () => StockRequestLedger) {
  describe(`StockRequestLedger contract (${backend})`, () => {
    it("creates a PENDING record once and replays it to later claims", async () => {
      const ledger = makeLedger();
      const input = newRequest();
      const first = await ledger.claim(input, { leaseMs: 5_000 });
      expect(first.created).toBe(true);
      expect(first.record).toEqual({ ...input, state: "PENDING", attempts: 1, leaseUntil: T0 + 5_000, updatedAt: T0 });
      const again = await ledger.claim({ ...input, requestHash: "hash-b" });
      expect(again).toEqual({ created: false, record: first.record });
    });

    it("lets exactly one of 50 concurrent claims create the record", async () => {
      const ledger = makeLedger();
      const input = newRequest();
      const results = await Promise.all(Array.from({ length: 50 }, () => ledger.claim(input)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
    });

    it("stores WeChat's result and replays it; a different stock_id is a conflict", async () => {
      const ledger = makeLedger();
      const input = newRequest();
      await ledger.claim(input, { leaseMs: 5_000 });
      const done = await ledger.complete(input, { stockId: "9856888", result: wechatResult }, T0 + 100);
      expect(done.changed).toBe(true);
      expect(done.record).toMatchObject({ state: "CREATED", stockId: "9856888", leaseUntil: 0, updatedAt: T0 + 100 });
      expect(done.record.result).toEqual(wechatResult);
      expect(await ledger.get(input)).toEqual(done.record);
      expect(await ledger.complete(input, { stockId: "9856888", result: {} }, T0 + 200)).toEqual({
        changed: false,
        record: done.record,
      });
      await expect(ledger.complete(input, { stockId: "other", result: {} }, T0 + 300)).rejects.toBeInstanceOf(
        ConflictError,
      );
      expect(await ledger.acquireLease(input, T0 + 10_000_000, 1)).toEqual({ status: "final", record: done.record });
    });

    it("fails a PENDING request once; a late success still completes it", async () => {
      const ledger = makeLedger();
      const input = newRequest();
      await ledger.claim(input);
      const failed = await ledger.fail(input, { code: "PARAM_ERROR", message: "bad budget" }, T0 + 1);
      expect(failed).toMatchObject({ changed: true, record: { state: "FAILED", errorCode: "PARAM_ERROR" } });
      expect((await ledger.fail(input, { code: "OTHER", message: "" }, T0 + 2)).changed).toBe(false);
      const late = await ledger.complete(input, { stockId: "s1", result: { stock_id: "s1" } }, T0 + 3);
      expect(late.record).toMatchObject({ state: "CREATED", stockId: "s1" });
      expect(late.record.errorCode).toBeUndefined();
      expect((await ledger.fail(input, { code: "X", message: "" }, T0 + 4)).record.state).toBe("CREATED");
    });

    it("leases like the send ledger: busy until expiry, fenced release", async () => {
      const ledger = makeLedger();
      const input = newRequest();
      const { record } = await ledger.claim(input, { leaseMs: 1_000 });
      expect((await ledger.acquireLease(input, T0 + 999, 1_000)).status).toBe("busy");
      expect(await ledger.release(input, record.leaseUntil, T0 + 500, { code: "SYSTEM_ERROR", message: "retry" })).toBe(
        true,
      );
      expect(await ledger.acquireLease(input, T0 + 501, 1_000)).toMatchObject({
        status: "acquired",
        record: { attempts: 2 },
      });
      expect(await ledger.acquireLease(newRequest(), T0, 1)).toEqual({ status: "missing" });
    });

    it("throws NotFoundError for unknown keys and reads them as undefined", async () => {
      const ledger = makeLedger();
      await expect(ledger.complete(newRequest(), { stockId: "s", result: {} }, T0)).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(ledger.fail(newRequest(), { code: "X", message: "" }, T0)).rejects.toBeInstanceOf(NotFoundError);
      expect(await ledger.get(newRequest())).toBeUndefined();
    });
  });
}
