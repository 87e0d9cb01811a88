import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
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
  StockRequestState,
} from "../../domain/ports.js";
import { newStockRequestRecord } from "../record-rules.js";
import { getItem, type Item, putIfAbsent } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./dynamodb-send-ledger.js";
import {
  acquireLeaseItem,
  failLeasedItem,
  num,
  optionalString,
  releaseLeaseItem,
  str,
  succeedLeasedItem,
} from "./leased-item.js";
import { KEY } from "./table-definition.js";

/** `StockRequestLedger` on the single table: item `STOCK_REQ#{mchid}#{out_request_no}`. */
export class DynamoDbStockRequestLedger implements StockRequestLedger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async claim(
    input: NewStockRequestRecord,
    options: { leaseMs?: number } = {},
  ): Promise<ClaimResult<StockRequestRecord>> {
    const record = newStockRequestRecord(input, options.leaseMs);
    // One create-stock per (mchid, out_request_no): the first request wins, repeats replay it.
    const put = await putIfAbsent(this.#doc, this.#table, toItem(record));
    return put.created ? { created: true, record } : { created: false, record: fromItem(put.existing) };
  }

  acquireLease(key: LedgerKey, now: number, leaseMs: number): Promise<LeaseResult<StockRequestRecord>> {
    return acquireLeaseItem(this.#doc, this.#table, pkOf(key), now, leaseMs, fromItem);
  }

  async complete(
    key: LedgerKey,
    outcome: { stockId: string; result: unknown },
    now: number,
  ): Promise<StateChange<StockRequestRecord>> {
    const fields = {
      stock_id: outcome.stockId,
      // JSON text, not a map: WeChat's body is replayed byte-for-byte in shape, with no marshalling surprises.
      result_json: JSON.stringify(outcome.result ?? null),
    };
    const update = await succeedLeasedItem(this.#doc, this.#table, pkOf(key), "CREATED", fields, now);
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    const record = fromItem(mustExist(update.existing));
    if (record.stockId === outcome.stockId) return { changed: false, record };
    throw new ConflictError(
      "STOCK_ID_MISMATCH",
      "stock_id",
      "the stock request is already recorded with another stock_id",
    );
  }

  async fail(key: LedgerKey, error: ErrorInfo, now: number): Promise<StateChange<StockRequestRecord>> {
    const update = await failLeasedItem(this.#doc, this.#table, pkOf(key), error, now);
    return update.changed
      ? { changed: true, record: fromItem(update.item) }
      : { changed: false, record: fromItem(mustExist(update.existing)) };
  }

  release(key: LedgerKey, leaseUntil: number, now: number, lastError?: ErrorInfo): Promise<boolean> {
    return releaseLeaseItem(this.#doc, this.#table, pkOf(key), leaseUntil, now, lastError);
  }

  async get(key: LedgerKey): Promise<StockRequestRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, pkOf(key));
    return item === undefined ? undefined : fromItem(item);
  }
}

function mustExist(item: Item | undefined): Item {
  if (item === undefined) throw new NotFoundError("out_request_no", "no stock request for this out_request_no");
  return item;
}

const pkOf = (key: LedgerKey): string => KEY.stockRequest(key.mchid, key.outRequestNo);

function toItem(r: StockRequestRecord): Item {
  return {
    pk: pkOf(r),
    type: "STOCK_REQ",
    mchid: r.mchid,
    out_request_no: r.outRequestNo,
    request_hash: r.requestHash,
    state: r.state,
    stock_id: r.stockId,
    result_json: r.result === undefined ? undefined : JSON.stringify(r.result),
    error_code: r.errorCode,
    error_message: r.errorMessage,
    attempts: r.attempts,
    lease_until: r.leaseUntil,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function fromItem(item: Item): StockRequestRecord {
  const record: StockRequestRecord = {
    mchid: str(item, "mchid"),
    outRequestNo: str(item, "out_request_no"),
    requestHash: str(item, "request_hash"),
    state: str(item, "state") as StockRequestState,
    attempts: num(item, "attempts"),
    leaseUntil: num(item, "lease_until"),
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
  const stockId = optionalString(item, "stock_id");
  if (stockId !== undefined) record.stockId = stockId;
  const resultJson = optionalString(item, "result_json");
  if (resultJson !== undefined) record.result = JSON.parse(resultJson);
  const errorCode = optionalString(item, "error_code");
  if (errorCode !== undefined) record.errorCode = errorCode;
  const errorMessage = optionalString(item, "error_message");
  if (errorMessage !== undefined) record.errorMessage = errorMessage;
  return record;
}
