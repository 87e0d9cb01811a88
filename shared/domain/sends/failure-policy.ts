import { GatewayError } from "../gateway.js";
import { StockHoldError, type StockHoldReason, StockQueryError } from "../stocks/stock-check.js";

/**
 * WeChat reports a spurious RULE_LIMIT under concurrent sends to one user (docs/wechatpay-cash-coupons.md#send-coupon-e6):
 * retry it a few times first.
 */
export const RULE_LIMIT_RETRIES = 3;
/** After this many WeChat calls for one send, a still-retryable failure is recorded as final. */
export const MAX_SEND_ATTEMPTS = 8;
/**
 * The same ceiling for a 429: higher, because a rate-limited call did nothing on WeChat's side and a campaign held
 * near the merchant's limit meets some 429s by design; it still ends a send that WeChat never lets through.
 */
export const MAX_RATE_LIMITED_ATTEMPTS = 24;

export type FailureDecision =
  | { action: "retry"; code: string; message: string; rateLimited: boolean; needsOperator?: boolean }
  | { action: "fail"; code: string; message: string }
  /** Refused for its stock (stock-check.ts): not final, and no attempt budget applies; `untilMs` when it passes. */
  | { action: "hold"; code: string; message: string; reason: StockHoldReason; untilMs?: number };

/** What to do after a failed WeChat call, given how many calls this send has made (`attempts`, this one included). */
export function decideAfterFailure(error: unknown, attempts: number): FailureDecision {
  if (error instanceof StockHoldError) {
    const { code, message, reason, untilMs } = error;
    return { action: "hold", code, message, reason, ...(untilMs === undefined ? {} : { untilMs }) };
  }
  // Retried as the stock query's failure asks (back-off, rate, operator); never final on the refusal it left unexplained.
  if (error instanceof StockQueryError) return decideAfterFailure(error.cause, attempts);
  if (!(error instanceof GatewayError)) {
    return retryOrGiveUp("INTERNAL_ERROR", "unexpected error while calling WeChat Pay", attempts, false);
  }
  switch (error.kind) {
    case "retryable":
      return retryOrGiveUp(error.code, error.message, attempts, false);
    case "rate_limited":
      return retryOrGiveUp(error.code, error.message, attempts, true, MAX_RATE_LIMITED_ATTEMPTS);
    case "misconfigured":
      // Keys or signature problems are fixed by an operator; keep the message on the queue (and DLQ) rather than
      // burning recipients as FAILED.
      return { action: "retry", code: error.code, message: error.message, rateLimited: false, needsOperator: true };
    case "refused":
      if (error.code === "RULE_LIMIT" && attempts < RULE_LIMIT_RETRIES) {
        return { action: "retry", code: error.code, message: error.message, rateLimited: false };
      }
      return { action: "fail", code: error.code, message: error.message };
  }
}

function retryOrGiveUp(
  code: string,
  message: string,
  attempts: number,
  rateLimited: boolean,
  maxAttempts = MAX_SEND_ATTEMPTS,
): FailureDecision {
  if (attempts >= maxAttempts) {
    return {
      action: "fail",
      code: "RETRIES_EXHAUSTED",
      message: `gave up after ${attempts} attempts; last error ${code}`,
    };
  }
  return { action: "retry", code, message, rateLimited };
}

/**
 * Whether WeChat may have acted on a call that failed this way: a refusal and a 429 say it did not; a timeout, a
 * 5xx, an answer whose signature did not verify or an unexpected error leave the outcome unknown.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (error instanceof StockHoldError || error instanceof StockQueryError) return false;
  return !(error instanceof GatewayError && (error.kind === "refused" || error.kind === "rate_limited"));
}
