import { CallWithheldError } from "#shared/domain/errors.js";
import {
  type CouponGateway,
  GatewayError,
  type HeldCoupon,
  type SendCouponCall,
  type StockInfo,
} from "#shared/domain/gateway.js";

/**
 * A WeChat stand-in for domain unit tests only (integration tests use the real client against the simulator).
 * Like WeChat it de-duplicates on out_request_no: a repeated call returns the same coupon_id and issues nothing.
 */
export class FakeCouponGateway implements CouponGateway {
  readonly issued = new Map<string, { couponId: string; call: SendCouponCall }>();
  calls = 0;
  /** Failures to throw before succeeding, consumed one per call. */
  readonly failures: GatewayError[] = [];
  /** Milliseconds each call takes (lets concurrent callers overlap). */
  latencyMs = 0;

  async sendCoupon(call: SendCouponCall, beforeRequest?: () => Promise<boolean>): Promise<{ couponId: string }> {
    if (beforeRequest !== undefined && !(await beforeRequest())) {
      throw new CallWithheldError(`the send of ${call.outRequestNo} was not started`);
    }
    this.calls++;
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const failure = this.failures.shift();
    if (failure) throw failure;
    const lost = this.lostAnswers > 0;
    if (lost) this.lostAnswers--;
    const issued = this.#issue(call);
    // As with a timeout after WeChat acted: the coupon exists, the caller never hears of it.
    if (lost) throw new GatewayError("retryable", "TIMEOUT", "no answer from WeChat Pay in time");
    return issued;
  }

  /** Calls whose coupon is issued but whose answer is lost (a TIMEOUT), consumed one per call after `failures`. */
  lostAnswers = 0;

  #issue(call: SendCouponCall): { couponId: string } {
    const existing = this.issued.get(call.outRequestNo);
    if (existing) return { couponId: existing.couponId };
    const couponId = String(90_000_000 + this.issued.size);
    this.issued.set(call.outRequestNo, { couponId, call });
    this.issuedAt.set(couponId, new Date(this.now()).toISOString());
    return { couponId };
  }

  /** Failures `findCoupons` throws, consumed one per call. */
  readonly findFailures: GatewayError[] = [];
  /** When each issued coupon was received (ISO), for findCoupons. */
  readonly issuedAt = new Map<string, string>();
  /** The clock findCoupons stamps new coupons with. */
  now = () => Date.now();

  async findCoupons(call: Omit<SendCouponCall, "outRequestNo">): Promise<{ coupons: HeldCoupon[]; complete: boolean }> {
    const failure = this.findFailures.shift();
    if (failure) throw failure;
    const coupons = [...this.issued.values()]
      .filter((c) => c.call.openid === call.openid && c.call.stockId === call.stockId)
      .map((c) => ({ couponId: c.couponId, createTime: this.issuedAt.get(c.couponId)! }));
    return { coupons, complete: true };
  }

  /** Stocks getStock answers; a stock not listed is running, open-ended and without a count budget. */
  readonly stocks = new Map<string, StockInfo>();
  /** Failures `getStock` throws, consumed one per call. */
  readonly stockFailures: GatewayError[] = [];
  stockQueries = 0;

  async getStock(call: { stockId: string; stockCreatorMchid: string }): Promise<StockInfo> {
    this.stockQueries++;
    const failure = this.stockFailures.shift();
    if (failure) throw failure;
    const stock = this.stocks.get(call.stockId);
    if (stock && stock.creatorMchid !== call.stockCreatorMchid)
      throw new GatewayError("refused", "RESOURCE_NOT_EXISTS", "批次不存在", 404);
    return stock
      ? { ...stock }
      : {
          stockId: call.stockId,
          creatorMchid: call.stockCreatorMchid,
          status: "running",
          beginMs: 0,
          endMs: Number.MAX_SAFE_INTEGER,
          distributedCoupons: 0,
        };
  }

  async createStock(): Promise<{ stock_id: string; create_time: string }> {
    this.calls++;
    const failure = this.failures.shift();
    if (failure) throw failure;
    return { stock_id: String(1_000 + this.calls), create_time: "2026-11-27T08:00:00+08:00" };
  }
}

export const refused = (code: string) => new GatewayError("refused", code, `WeChat refused: ${code}`, 403);
export const unavailable = () => new GatewayError("retryable", "SYSTEM_ERROR", "WeChat 500 SYSTEM_ERROR", 500);
export const rateLimited = () => new GatewayError("rate_limited", "FREQUENCY_LIMITED", "WeChat 429", 429);

/** A running stock whose count budget is used up: WeChat's NOT_ENOUGH for it is final (stock-check.ts). */
export const usedUpStock = (stockId: string, creatorMchid: string): StockInfo => ({
  stockId,
  creatorMchid,
  status: "running",
  beginMs: 0,
  endMs: Number.MAX_SAFE_INTEGER,
  maxCoupons: 10,
  distributedCoupons: 10,
});
