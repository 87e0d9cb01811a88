import { ConflictError } from "../errors.js";
import type { CouponGateway } from "../gateway.js";
import type { Clock, StockRequestLedger, StockRequestRecord } from "../ports.js";
import { decideAfterFailure } from "../sends/failure-policy.js";
import { requestHash } from "../sends/request-hash.js";

export interface CreateStockDependencies {
  stockRequests: StockRequestLedger;
  gateway: CouponGateway;
  clock: Clock;
  leaseMs: number;
}

export type CreateStockOutcome =
  | { status: "CREATED"; result: { stock_id: string; create_time: string }; replayed: boolean }
  | { status: "FAILED"; code: string; message: string; replayed: boolean }
  | { status: "RETRY"; code: string; message: string; rateLimited: boolean }
  | { status: "IN_PROGRESS"; retryAfterMs: number };

/**
 * Creates a stock at most once per (mchid, out_request_no). WeChat also de-duplicates create-stock on out_request_no
 * (spec §4), so a call retried after a lost answer returns the same stock_id.
 */
export async function createStock(
  deps: CreateStockDependencies,
  command: { mchid: string; outRequestNo: string; body: Record<string, unknown> },
): Promise<CreateStockOutcome> {
  const key = { mchid: command.mchid, outRequestNo: command.outRequestNo };
  const hash = requestHash(command.body);
  const now = deps.clock();
  const claim = await deps.stockRequests.claim(
    { ...key, requestHash: hash, createdAt: now },
    { leaseMs: deps.leaseMs },
  );
  let record: StockRequestRecord = claim.record;
  if (!claim.created) {
    if (record.requestHash !== hash) {
      throw new ConflictError(
        "OUT_REQUEST_NO_CONFLICT",
        "out_request_no",
        `out_request_no ${command.outRequestNo} was already used to create a different stock`,
      );
    }
    if (record.state !== "PENDING") return replay(record);
    const lease = await deps.stockRequests.acquireLease(key, now, deps.leaseMs);
    if (lease.status === "busy")
      return { status: "IN_PROGRESS", retryAfterMs: Math.max(lease.record.leaseUntil - now, 100) };
    if (lease.status === "final") return replay(lease.record);
    if (lease.status === "missing")
      throw new Error(`stock request ${command.outRequestNo} vanished between claim and lease`);
    record = lease.record;
  }
  let result: { stock_id: string; create_time: string };
  try {
    result = await deps.gateway.createStock(command.body);
  } catch (error) {
    const decision = decideAfterFailure(error, record.attempts);
    if (decision.action === "fail") {
      const change = await deps.stockRequests.fail(key, decision, deps.clock());
      return replay(change.record, !change.changed);
    }
    await deps.stockRequests.release(key, record.leaseUntil, deps.clock(), decision);
    return { status: "RETRY", code: decision.code, message: decision.message, rateLimited: decision.rateLimited };
  }
  await deps.stockRequests.complete(key, { stockId: result.stock_id, result }, deps.clock());
  return { status: "CREATED", result, replayed: false };
}

function replay(record: StockRequestRecord, replayed = true): CreateStockOutcome {
  if (record.state === "CREATED") {
    return { status: "CREATED", result: record.result as { stock_id: string; create_time: string }, replayed };
  }
  return {
    status: "FAILED",
    code: record.errorCode ?? "UNKNOWN",
    message: record.errorMessage ?? "create failed",
    replayed,
  };
}
