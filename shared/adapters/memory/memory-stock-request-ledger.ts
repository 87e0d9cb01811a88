import type { NewKeyedRecord, StockRequestLedger, StockRequestRecord } from "../../domain/ports.js";
import { STOCK_REQUEST_KIND } from "../record-rules.js";
import { MemoryKeyedLedger } from "./memory-keyed-ledger.js";

/** In-memory `StockRequestLedger`. */
export class MemoryStockRequestLedger
  extends MemoryKeyedLedger<StockRequestRecord, NewKeyedRecord, { stockId: string; result: unknown }>
  implements StockRequestLedger
{
  constructor() {
    super(STOCK_REQUEST_KIND);
  }
}
