// Create-stock bodies for tests and benchmarks. Kept free of the local stack's imports: the end-to-end bench loads it
// before it sets the handlers' log level.

/** RFC 3339 in China time, as WeChat writes it. */
export function chinaTime(epochMs: number): string {
  const shifted = new Date(epochMs + 8 * 3_600_000).toISOString().slice(0, 19);
  return `${shifted}+08:00`;
}

/**
 * A create-stock body that satisfies every create-stock rule R1–R15 (docs/wechatpay-cash-coupons.md#validation-rules).
 */
export function validStockBody(
  outRequestNo: string,
  mchid: string,
  overrides: { maxCoupons?: number; perUser?: number; preventApiAbuse?: boolean } = {},
) {
  const now = Date.now();
  const maxCoupons = overrides.maxCoupons ?? 100_000;
  return {
    stock_name: "新客立减",
    comment: "wxcoupon test",
    available_begin_time: chinaTime(now + 1_000),
    available_end_time: chinaTime(now + 30 * 86_400_000),
    stock_use_rule: {
      max_coupons: maxCoupons,
      max_amount: maxCoupons * 100,
      max_coupons_per_user: overrides.perUser ?? 5,
      natural_person_limit: false,
      prevent_api_abuse: overrides.preventApiAbuse ?? false,
    },
    coupon_use_rule: {
      fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
      available_merchants: [mchid],
    },
    no_cash: false,
    stock_type: "NORMAL" as const,
    out_request_no: outRequestNo,
  };
}
