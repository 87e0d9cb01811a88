import { type CouponGateway, GatewayError, type SendCouponCall } from "#shared/domain/gateway.js";

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

  async sendCoupon(call: SendCouponCall): Promise<{ couponId: string }> {
    this.calls++;
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const failure = this.failures.shift();
    if (failure) throw failure;
    const existing = this.issued.get(call.outRequestNo);
    if (existing) return { couponId: existing.couponId };
    const couponId = String(90_000_000 + this.issued.size);
    this.issued.set(call.outRequestNo, { couponId, call });
    return { couponId };
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
