/**
 * Fixed-window counters keyed by endpoint (and merchant where WeChat limits per merchant). Fixed windows allow a
 * burst of up to twice the limit across a window edge; WeChat's own limiter shape is undocumented.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Counts one call; false when the key is over `limit` in the current window. */
  take(key: string, limit: number, windowMs: number): boolean {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= windowMs) {
      window = { start: now - (now % windowMs), count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return window.count <= limit;
  }

  clear(): void {
    this.windows.clear();
  }
}

export interface EndpointLimit {
  limit: number;
  windowMs: number;
  perMerchant: boolean;
}

const perSecond = (limit: number, perMerchant = false): EndpointLimit => ({ limit, windowMs: 1000, perMerchant });
const perMinute = (limit: number, perMerchant = false): EndpointLimit => ({ limit, windowMs: 60_000, perMerchant });

/**
 * WeChat's per-endpoint limits (docs/wechatpay-cash-coupons.md#endpoints) by route name (send is configured separately;
 * per-IP limits are not modelled).
 */
export const ENDPOINT_LIMITS: Record<string, EndpointLimit> = {
  "create-stock": perMinute(60, true),
  "pause-stock": perMinute(1000),
  "restart-stock": perMinute(1000),
  "list-stocks": perSecond(1000),
  "stock-detail": perSecond(1000),
  "coupon-detail": perSecond(500),
  "stock-merchants": perMinute(1000),
  "stock-items": perMinute(600),
  "user-coupons": perSecond(500),
  "use-flow": perMinute(1000),
  "refund-flow": perMinute(1000),
  "set-callback": perMinute(1000),
  "get-callback": perSecond(2000),
};

/**
 * The 429 answer; of the three names sources use (docs/wechatpay-cash-coupons.md#error-codes) we pick the cash-coupon
 * error table's.
 */
export const RATE_LIMIT_CODE = "FREQUENCY_LIMIT_EXCEED";
export const RATE_LIMIT_MESSAGE = "接口限频";
