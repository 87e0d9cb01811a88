/**
 * The WeChat Pay calls the domain makes, as a port. The adapter (shared/adapters/wechatpay) maps the client's errors
 * onto GatewayError so the domain decides retry-or-record without knowing HTTP.
 */
export interface SendCouponCall {
  openid: string;
  stockId: string;
  outRequestNo: string;
  appid: string;
  stockCreatorMchid: string;
}

/** A coupon a user holds, as WeChat lists it. */
export interface HeldCoupon {
  couponId: string;
  /** When the user received it (RFC 3339, as WeChat sends it). */
  createTime: string;
}

/**
 * A stock as the pre-flight and the send worker judge it (E8, docs/wechatpay-cash-coupons.md#list-and-read-stocks-e7-e8).
 * Times are epoch ms.
 */
export interface StockInfo {
  stockId: string;
  creatorMchid: string;
  /** WeChat's lower-case status: `unactivated`, `audit`, `running`, `stoped` (sic), `paused`. */
  status: string;
  beginMs: number;
  endMs: number;
  /** The stock's count budget (`stock_use_rule.max_coupons`); absent when WeChat does not say. */
  maxCoupons?: number;
  distributedCoupons: number;
}

export interface CouponGateway {
  /**
   * `beforeRequest`: asked once everything the request needs is at hand (credentials loaded), with nothing awaited
   * between its answer and the request; false → `CallWithheldError`, nothing sent. The worker's pause fence.
   */
  sendCoupon(call: SendCouponCall, beforeRequest?: () => Promise<boolean>): Promise<{ couponId: string }>;
  /**
   * The coupons of `call.stockId` the user holds, used or not (E12 filtered by stock): how a send whose answer was
   * lost learns whether WeChat issued it. `complete` is false when WeChat holds more than one page answered.
   */
  findCoupons(call: Omit<SendCouponCall, "outRequestNo">): Promise<{ coupons: HeldCoupon[]; complete: boolean }>;
  /**
   * The stock as WeChat holds it now (E8), asked as its creator. A stock that does not exist, or was created by
   * another merchant, is a `refused` GatewayError with httpStatus 404.
   */
  getStock(call: { stockId: string; stockCreatorMchid: string }): Promise<StockInfo>;
  /** Create-stock body as WeChat takes it (already validated); returns WeChat's response. */
  createStock(body: Record<string, unknown>): Promise<{ stock_id: string; create_time: string }>;
}

export type GatewayFailureKind =
  /** No answer, a timeout, 5xx or SYSTEM_ERROR: the same request may succeed later (WeChat de-duplicates on out_request_no). */
  | "retryable"
  /** HTTP 429: retry later and slow down the whole campaign. */
  | "rate_limited"
  /** A business refusal (NOT_ENOUGH, RULE_LIMIT, USER_ACCOUNT_ABNORMAL, INVALID_REQUEST…): record it, do not retry blindly. */
  | "refused"
  /** Our side cannot talk to WeChat correctly (signature, keys): an operator must act; retrying will not help soon. */
  | "misconfigured";

export class GatewayError extends Error {
  constructor(
    readonly kind: GatewayFailureKind,
    readonly code: string,
    message: string,
    readonly httpStatus?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "GatewayError";
  }
}
