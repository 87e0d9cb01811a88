import { ConflictError, NotFoundError } from "../../domain/errors.js";
import type {
  ClaimResult,
  ErrorInfo,
  LeaseResult,
  LedgerKey,
  NewStockRequestRecord,
  StateChange,
  StockRequestLedger,
  StockRequestRecord,
} from "../../domain/ports.js";
import { newStockRequestRecord } from "../record-rules.js";
import { LeasedMap } from "./leased-map.js";

/** In-memory `StockRequestLedger` (reference implementation). */
export class MemoryStockRequestLedger implements StockRequestLedger {
  readonly #map = new LeasedMap<StockRequestRecord>();

  async claim(
    input: NewStockRequestRecord,
    options: { leaseMs?: number } = {},
  ): Promise<ClaimResult<StockRequestRecord>> {
    return this.#map.putIfAbsent(newStockRequestRecord(input, options.leaseMs));
  }

  async acquireLease(key: LedgerKey, now: number, leaseMs: number): Promise<LeaseResult<StockRequestRecord>> {
    return this.#map.acquireLease(key, now, leaseMs);
  }

  async complete(
    key: LedgerKey,
    outcome: { stockId: string; result: unknown },
    now: number,
  ): Promise<StateChange<StockRequestRecord>> {
    const existing = this.#map.get(key);
    if (existing === undefined) throw new NotFoundError("out_request_no", "no stock request for this out_request_no");
    if (existing.state === "CREATED") {
      if (existing.stockId === outcome.stockId) return { changed: false, record: existing };
      throw new ConflictError(
        "STOCK_ID_MISMATCH",
        "stock_id",
        "the stock request is already recorded with another stock_id",
      );
    }
    const record = this.#map.update(key, (r) => {
      r.state = "CREATED";
      r.stockId = outcome.stockId;
      // Round-trip through JSON: the DynamoDB adapter stores the result as JSON text, so both return the same shape.
      r.result = JSON.parse(JSON.stringify(outcome.result ?? null));
      r.leaseUntil = 0;
      r.updatedAt = now;
      delete r.errorCode;
      delete r.errorMessage;
    });
    return { changed: true, record };
  }

  async fail(key: LedgerKey, error: ErrorInfo, now: number): Promise<StateChange<StockRequestRecord>> {
    const change = this.#map.fail(key, error, now);
    if (change === undefined) throw new NotFoundError("out_request_no", "no stock request for this out_request_no");
    return change;
  }

  async release(key: LedgerKey, leaseUntil: number, now: number, lastError?: ErrorInfo): Promise<boolean> {
    return this.#map.release(key, leaseUntil, now, lastError);
  }

  async get(key: LedgerKey): Promise<StockRequestRecord | undefined> {
    return this.#map.get(key);
  }
}
