import type { NewKeyedRecord, StockRequestLedger, StockRequestRecord } from "../../domain/ports.js";
import { STOCK_REQUEST_KIND } from "../record-rules.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { baseItem, baseRecord, DynamoDbKeyedLedger, type KeyedItemCodec } from "./dynamodb-keyed-ledger.js";
import { type Item, optionalStrings } from "./item.js";
import { KEY } from "./table-definition.js";

type StockSuccess = { stockId: string; result: unknown };

/** `StockRequestLedger` on the single table: item `STOCK_REQ#{mchid}#{out_request_no}`. */
export class DynamoDbStockRequestLedger
  extends DynamoDbKeyedLedger<StockRequestRecord, NewKeyedRecord, StockSuccess>
  implements StockRequestLedger
{
  constructor(options: DynamoDbAdapterOptions) {
    super(options, STOCK_REQUEST_KIND, STOCK_REQUEST_ITEMS);
  }
}

const STOCK_REQUEST_ITEMS: KeyedItemCodec<StockRequestRecord, StockSuccess> = {
  pk: (key) => KEY.stockRequest(key.mchid, key.outRequestNo),
  toItem: (r) => ({
    ...baseItem(KEY.stockRequest(r.mchid, r.outRequestNo), "STOCK_REQ", r),
    stock_id: r.stockId,
    result_json: r.result === undefined ? undefined : JSON.stringify(r.result),
  }),
  fromItem: (item: Item): StockRequestRecord => {
    const { stockId, resultJson } = optionalStrings(item, { stockId: "stock_id", resultJson: "result_json" });
    return {
      ...baseRecord<"CREATED">(item),
      ...(stockId === undefined ? {} : { stockId }),
      ...(resultJson === undefined ? {} : { result: JSON.parse(resultJson) }),
    };
  },
  // JSON text, not a map: WeChat's body is replayed as it came, with no marshalling surprises.
  successAttributes: ({ stockId, result }) => ({ stock_id: stockId, result_json: JSON.stringify(result ?? null) }),
};
