import { describe, expect, it } from "vitest";
import type { NewKeyedRecord, StockRequestLedger } from "#shared/domain/ports.js";
import { keyedLedgerContract, T0, uniqueKey } from "./keyed-ledger-contract.js";

const newRequest = (): NewKeyedRecord => ({ ...uniqueKey("stock"), requestHash: "hash-a", createdAt: T0 });

const wechatResult = {
  stock_id: "9856888",
  create_time: "2026-11-26T10:00:00+08:00",
  nested: { list: [1, "two", null] },
};

export function stockRequestLedgerContract(backend: string, makeLedger: () => StockRequestLedger) {
  keyedLedgerContract(`stock requests, ${backend}`, makeLedger, {
    newRecord: newRequest,
    succeeded: "CREATED",
    success: (stockId) => ({ stockId, result: { stock_id: stockId } }),
    stored: (stockId) => ({ stockId, result: { stock_id: stockId } }),
    mismatch: { code: "STOCK_ID_MISMATCH", field: "stock_id" },
  });

  describe(`StockRequestLedger contract (${backend})`, () => {
    it("stores WeChat's whole answer and replays it as it came", async () => {
      const ledger = makeLedger();
      const input = newRequest();
      await ledger.claim(input, { leaseMs: 5_000 });
      const done = await ledger.succeed(input, { stockId: "9856888", result: wechatResult }, T0 + 100);
      expect(done.record.result).toEqual(wechatResult);
      expect(await ledger.get(input)).toEqual(done.record);
      // A repeat with the same stock_id answers the stored answer, not the repeat's.
      expect(await ledger.succeed(input, { stockId: "9856888", result: {} }, T0 + 200)).toEqual({
        changed: false,
        record: done.record,
      });
    });
  });
}
