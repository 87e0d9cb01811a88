import type { CouponGateway } from "../gateway.js";
import { type KeyedOutcome, runKeyedCall } from "../keyed-call.js";
import type { Clock, StockRequestLedger, StockRequestRecord } from "../ports.js";
import { requestHash } from "../sends/request-hash.js";

export interface CreateStockDependencies {
  stockRequests: StockRequestLedger;
  gateway: CouponGateway;
  clock: Clock;
  leaseMs: number;
}

/** `CREATED` (WeChat's answer in `record.result`), `FAILED`, `RETRY` or `IN_PROGRESS`: see `KeyedOutcome`. */
export type CreateStockOutcome = KeyedOutcome<StockRequestRecord>;

/** WeChat's answer to create-stock, as the ledger keeps and replays it. */
export interface CreatedStock {
  stock_id: string;
  create_time: string;
}

/**
 * Creates a stock at most once per (mchid, out_request_no) (see `runKeyedCall`). WeChat also de-duplicates
 * create-stock on out_request_no (docs/wechatpay-cash-coupons.md#idempotency-and-replays), so a call retried after a
 * lost answer returns the same stock_id.
 *
 * `validate` (WeChat's business rules) runs only for a request the ledger has never seen: the rules depend on the
 * time (a begin time may not lie in the past), and a replay after that time must still answer the stored stock.
 */
export async function createStock(
  deps: CreateStockDependencies,
  command: { mchid: string; outRequestNo: string; body: Record<string, unknown>; validate?: () => void },
): Promise<CreateStockOutcome> {
  const { mchid, outRequestNo } = command;
  if (command.validate && (await deps.stockRequests.get({ mchid, outRequestNo })) === undefined) command.validate();
  return runKeyedCall({
    ledger: deps.stockRequests,
    clock: deps.clock,
    leaseMs: deps.leaseMs,
    claim: { mchid, outRequestNo, requestHash: requestHash(command.body), createdAt: deps.clock() },
    conflictMessage: `out_request_no ${outRequestNo} was already used to create a different stock`,
    call: async () => {
      const result = await deps.gateway.createStock(command.body);
      return { stockId: result.stock_id, result };
    },
  });
}
