import { DomainError } from "../errors.js";
import { GatewayError } from "../gateway.js";
import { StockHoldError, type StockHoldReason, StockQueryError } from "../stocks/stock-check.js";

/**
 * Why WeChat refuses the *merchant* rather than the recipient or the stock: the same refusal would meet every send of
 * the merchant (or of its appid) until an operator acts, so it holds instead of being recorded final per recipient
 * (docs/wechatpay-cash-coupons.md#refusals-about-the-merchant):
 * - `merchant_not_permitted`: 403 `NO_AUTH` (发券商户无权限使用此API: the merchant lacks the coupon product or the
 *   right to this stock), 403 `REQUEST_BLOCKED` other than the per-user cap (调用商户无权限, 商户无权发券,
 *   批次不支持跨商户发券), 400 `MCH_NOT_EXISTS` (商户号不合法), 400 `INVALID_REQUEST` 非法的商户号;
 * - `appid_not_bound`: 400 `APPID_MCHID_NOT_MATCH` (商户号与appid不匹配: the appid is not bound to the merchant);
 * - `credentials_refused`: 401 `SIGN_ERROR`, WeChat refused the merchant's signature (key, serial or clock): it did
 *   nothing for the call. (An answer of WeChat's that does not verify is not one: WeChat may have acted, and the
 *   client looks unknown serials up by itself; it stays a retry an operator may have to look at.)
 */
export type MerchantHoldReason = "merchant_not_permitted" | "appid_not_bound" | "credentials_refused";

/**
 * A send WeChat refused because of its merchant, not its recipient (`merchantHoldReason`): never a final failure
 * (an operator lifts it or cancels). WeChat did not act on the call (a refusal).
 */
export class MerchantHoldError extends DomainError {
  constructor(
    readonly reason: MerchantHoldReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(MERCHANT_HOLD_CODES[reason], message, options);
    this.name = "MerchantHoldError";
  }
}

/** Why a send is held rather than recorded: its stock (stock-check.ts) or its merchant. */
export type HoldReason = StockHoldReason | MerchantHoldReason;

/** The code a held send and POST /coupons answer with for each merchant reason. */
export const MERCHANT_HOLD_CODES: Record<MerchantHoldReason, string> = {
  merchant_not_permitted: "MERCHANT_NOT_PERMITTED",
  appid_not_bound: "APPID_NOT_BOUND",
  credentials_refused: "WECHATPAY_AUTH_FAILED",
};

/**
 * REQUEST_BLOCKED's one message about the recipient: the per-user cap counted per natural person (S6,
 * docs/wechatpay-cash-coupons.md#validation-rules). Every other REQUEST_BLOCKED message of the send names the merchant.
 */
const USER_BLOCKED_MESSAGE = "用户被限领拦截";
/**
 * INVALID_REQUEST's one message about the merchant (the 公共错误码 table, docs/wechatpay-cash-coupons.md#error-codes);
 * its others are about the recipient or the stock (stock-check.ts tells those apart).
 */
const INVALID_MERCHANT_MESSAGE = "非法的商户号";

/**
 * The merchant reason of a send's refusal (E6), or undefined when the refusal is not about the merchant. Only for
 * sends: create-stock answers the same codes for its own rules (REQUEST_BLOCKED 活动未开始或已结束 is R4's time rule).
 */
export function merchantHoldReason(error: GatewayError): MerchantHoldReason | undefined {
  if (error.kind === "misconfigured" && error.httpStatus === 401) return "credentials_refused";
  if (error.kind !== "refused") return undefined;
  switch (error.code) {
    case "NO_AUTH":
    case "MCH_NOT_EXISTS":
      return "merchant_not_permitted";
    case "REQUEST_BLOCKED":
      return error.message.includes(USER_BLOCKED_MESSAGE) ? undefined : "merchant_not_permitted";
    case "INVALID_REQUEST":
      return error.message.includes(INVALID_MERCHANT_MESSAGE) ? "merchant_not_permitted" : undefined;
    case "APPID_MCHID_NOT_MATCH":
      return "appid_not_bound";
    default:
      return undefined;
  }
}

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
  /**
   * Refused for its stock (stock-check.ts) or its merchant (`merchantHoldReason`): not final, and no attempt budget
   * applies; `untilMs` when it passes by itself.
   */
  | { action: "hold"; code: string; message: string; reason: HoldReason; untilMs?: number };

/** What to do after a failed WeChat call, given how many calls this send has made (`attempts`, this one included). */
export function decideAfterFailure(error: unknown, attempts: number): FailureDecision {
  if (error instanceof StockHoldError) {
    const { code, message, reason, untilMs } = error;
    return { action: "hold", code, message, reason, ...(untilMs === undefined ? {} : { untilMs }) };
  }
  if (error instanceof MerchantHoldError)
    return { action: "hold", code: error.code, message: error.message, reason: error.reason };
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
  if (error instanceof StockHoldError || error instanceof StockQueryError || error instanceof MerchantHoldError) {
    return false;
  }
  return !(error instanceof GatewayError && (error.kind === "refused" || error.kind === "rate_limited"));
}
