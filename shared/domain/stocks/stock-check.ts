import { DomainError, StockUnavailableError } from "../errors.js";
import { type CouponGateway, GatewayError, type StockInfo } from "../gateway.js";

/**
 * Stock checks: the pre-flight of a campaign's create and resume, and what the send path makes of a refusal that is
 * about the stock rather than the recipient. WeChat's facts and the decisions taken on them:
 * docs/wechatpay-cash-coupons.md#refusals-about-the-stock (S4 and S5 in docs/wechatpay-cash-coupons.md#validation-rules).
 */

/** The pre-flight's refusals (HTTP 422, field `stock_id`). */
export type StockProblemCode =
  | "STOCK_NOT_FOUND"
  | "STOCK_NOT_OWNED"
  | "STOCK_EXPIRED"
  | "STOCK_NOT_RUNNING"
  | "STOCK_NOT_STARTED"
  | "STOCK_BUDGET_INSUFFICIENT"
  | "STOCK_CHECK_REFUSED";

export interface StockCheckTarget {
  mchid: string;
  stockId: string;
  /** A scheduled campaign's start (epoch ms); the stock must serve from then on. */
  startAt?: number;
  /** Recipients still to send; undefined while unknown (a chunked campaign whose recipients are still arriving). */
  recipients?: number;
}

/** Stock statuses of a stock never started yet: it may be started before a scheduled campaign's start_at. */
const NOT_YET_STARTED = new Set(["unactivated", "audit"]);

/**
 * Whether `stock` can serve a campaign starting at `max(now, startAt)`: the first problem, or undefined. A stock that
 * was never started (`unactivated`, `audit`) passes for a scheduled campaign only (the operator may start it before
 * start_at; if not, the campaign pauses with `stock_not_running` when it meets the refusal). Budget: the stock's
 * count budget left (`max_coupons − distributed_coupons`) must cover the recipients, or be above 0 while they are not
 * known yet. A check, not a reservation: campaigns of one stock running together share its budget.
 */
export function stockProblem(
  stock: StockInfo,
  target: StockCheckTarget,
  now: number,
): StockUnavailableError | undefined {
  const start = Math.max(now, target.startAt ?? now);
  const scheduled = target.startAt !== undefined && target.startAt > now;
  const id = stock.stockId;
  if (stock.creatorMchid !== target.mchid) {
    return new StockUnavailableError(
      "STOCK_NOT_OWNED",
      `stock_id: stock ${id} was created by merchant ${stock.creatorMchid}, not ${target.mchid}`,
    );
  }
  if (stock.endMs <= start) {
    return new StockUnavailableError(
      "STOCK_EXPIRED",
      `stock_id: stock ${id} ended at ${iso(stock.endMs)}${scheduled ? ", before start_at" : ""}`,
    );
  }
  if (stock.status !== "running" && !(scheduled && NOT_YET_STARTED.has(stock.status))) {
    return new StockUnavailableError(
      "STOCK_NOT_RUNNING",
      `stock_id: stock ${id} is ${stock.status}, not running${NOT_YET_STARTED.has(stock.status) ? " (start it, or schedule the campaign with start_at)" : ""}`,
    );
  }
  if (stock.beginMs > start) {
    return new StockUnavailableError(
      "STOCK_NOT_STARTED",
      `stock_id: stock ${id} begins at ${iso(stock.beginMs)}; schedule the campaign with start_at at or after it`,
    );
  }
  if (stock.maxCoupons !== undefined) {
    const left = Math.max(0, stock.maxCoupons - stock.distributedCoupons);
    const needed = target.recipients ?? 1;
    if (left < needed) {
      return new StockUnavailableError(
        "STOCK_BUDGET_INSUFFICIENT",
        `stock_id: stock ${id} has ${left} coupons left (max_coupons ${stock.maxCoupons}, distributed ` +
          `${stock.distributedCoupons}); the campaign needs ${target.recipients ?? "at least 1"}`,
      );
    }
  }
  return undefined;
}

/**
 * Asks WeChat for the stock (E8) and throws the first problem as a `StockUnavailableError`. WeChat failing to answer
 * (5xx, timeout, 429, our keys) is thrown as the `GatewayError` it is: retryable, never a refusal of the campaign.
 */
export async function preflightStock(
  gateway: Pick<CouponGateway, "getStock">,
  target: StockCheckTarget,
  now: number,
): Promise<StockInfo> {
  let stock: StockInfo;
  try {
    stock = await gateway.getStock({ stockId: target.stockId, stockCreatorMchid: target.mchid });
  } catch (error) {
    if (error instanceof GatewayError && error.kind === "refused") {
      // E8 is asked as the creator: another merchant's stock answers 404 like a missing one.
      if (error.httpStatus === 404) {
        throw new StockUnavailableError(
          "STOCK_NOT_FOUND",
          `stock_id: WeChat Pay has no stock ${target.stockId} created by merchant ${target.mchid}`,
        );
      }
      if (error.httpStatus === 403) {
        throw new StockUnavailableError(
          "STOCK_NOT_OWNED",
          `stock_id: WeChat Pay refused merchant ${target.mchid} access to stock ${target.stockId} (${error.code})`,
        );
      }
      throw new StockUnavailableError(
        "STOCK_CHECK_REFUSED",
        `stock_id: WeChat Pay refused the query of stock ${target.stockId}: ${error.code} ${error.message}`,
      );
    }
    throw error;
  }
  const problem = stockProblem(stock, target, now);
  if (problem) throw problem;
  return stock;
}

// ---- the send path ----

/**
 * Why a send was refused for its stock: `stock_not_running` (paused, stopped, never started or ended: an operator
 * must act), `stock_not_started` (running, before its available_begin_time: it passes by itself at `untilMs`),
 * `stock_budget_exhausted` (NOT_ENOUGH while the count budget is not used up: the daily budget, or WeChat's early
 * exhaustion; both pass).
 */
export type StockHoldReason = "stock_not_running" | "stock_not_started" | "stock_budget_exhausted";

/** The code a held send and POST /coupons answer with for each reason. */
export const STOCK_HOLD_CODES: Record<StockHoldReason, string> = {
  stock_not_running: "STOCK_NOT_RUNNING",
  stock_not_started: "STOCK_NOT_STARTED",
  stock_budget_exhausted: "STOCK_BUDGET_EXHAUSTED",
};

/**
 * A send WeChat refused because of its stock, not its recipient: never a final failure (the refusal passes, or an
 * operator makes it pass or cancels). WeChat did not act on the call (a refusal), so it says nothing new about
 * whether an earlier, lost call issued the coupon.
 */
export class StockHoldError extends DomainError {
  constructor(
    readonly reason: StockHoldReason,
    message: string,
    readonly untilMs?: number,
    options?: ErrorOptions,
  ) {
    super(STOCK_HOLD_CODES[reason], message, options);
    this.name = "StockHoldError";
  }
}

/** Stock reads (E8) in flight or answered, by stock id, shared by the sends of one worker batch. */
export type StockReads = Map<string, Promise<StockInfo>>;

/**
 * WeChat refused a send with a code that may concern the stock, and the stock could not be read to tell (E8 failed:
 * `cause`). Retried like that failure; the send's own call was refused, so it is not an unknown outcome.
 */
export class StockQueryError extends DomainError {
  constructor(
    readonly refusal: GatewayError,
    cause: unknown,
  ) {
    super("STOCK_QUERY_FAILED", `WeChat refused the send (${refusal.code}) and the stock could not be read`, {
      cause,
    });
    this.name = "StockQueryError";
  }
}

/**
 * What a send's refusal says about its stock. WeChat answers one code and message, 400 INVALID_REQUEST
 * `活动已结束或未激活`, for a stock paused, stopped, not yet active, before its begin time or past its end (S4), and the
 * same code for an openid of another appid (S3); 403 NOT_ENOUGH `批次预算不足` both when the count budget is used up
 * and when a daily budget or WeChat's early exhaustion stops it (S5, docs/wechatpay-cash-coupons.md#send-coupon-e6).
 * So the stock is asked (E8) which it is. Returns the hold, or undefined when the refusal is the recipient's (or the
 * budget is really used up): then it is final as WeChat gave it. A failure to ask is thrown as a `StockQueryError`.
 */
export async function stockHoldFor(
  gateway: Pick<CouponGateway, "getStock">,
  call: { stockId: string; stockCreatorMchid: string },
  refusal: GatewayError,
  now: number,
  reads?: StockReads,
): Promise<StockHoldError | undefined> {
  if (refusal.kind !== "refused" || (refusal.code !== "INVALID_REQUEST" && refusal.code !== "NOT_ENOUGH")) return;
  let stock: StockInfo;
  try {
    stock = await readStock(gateway, call, reads);
  } catch (error) {
    if (error instanceof GatewayError && error.kind === "refused") {
      return new StockHoldError(
        "stock_not_running",
        `WeChat refused the send (${refusal.code}) and the stock cannot be read (${error.code})`,
        undefined,
        { cause: refusal },
      );
    }
    throw new StockQueryError(refusal, error);
  }
  const id = stock.stockId;
  if (refusal.code === "NOT_ENOUGH") {
    if (stock.maxCoupons !== undefined && stock.distributedCoupons >= stock.maxCoupons) return undefined;
    return new StockHoldError(
      "stock_budget_exhausted",
      `stock ${id} refused the send for budget (NOT_ENOUGH) with ${stock.distributedCoupons} of ` +
        `${stock.maxCoupons ?? "?"} coupons distributed: a daily budget or a temporary exhaustion`,
      undefined,
      { cause: refusal },
    );
  }
  if (stock.status === "running" && stock.beginMs <= now && now <= stock.endMs) return undefined;
  if (stock.status === "running" && stock.beginMs > now) {
    return new StockHoldError("stock_not_started", `stock ${id} begins at ${iso(stock.beginMs)}`, stock.beginMs, {
      cause: refusal,
    });
  }
  const state = stock.endMs < now ? `ended at ${iso(stock.endMs)}` : stock.status;
  return new StockHoldError("stock_not_running", `stock ${id} is ${state}, not running`, undefined, {
    cause: refusal,
  });
}

/** One read per stock among the sends sharing `reads`; a failed read is not kept (the next asker reads again). */
function readStock(
  gateway: Pick<CouponGateway, "getStock">,
  call: { stockId: string; stockCreatorMchid: string },
  reads: StockReads | undefined,
): Promise<StockInfo> {
  if (reads === undefined) return gateway.getStock(call);
  const key = `${call.stockCreatorMchid}/${call.stockId}`;
  let read = reads.get(key);
  if (read === undefined) {
    read = gateway.getStock(call);
    reads.set(key, read);
    read.catch(() => reads.delete(key));
  }
  return read;
}

const iso = (ms: number) => new Date(ms).toISOString();
