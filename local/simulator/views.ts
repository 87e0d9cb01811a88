import { formatRfc3339 } from "./clock.js";
import type { CouponRecord, StockRecord } from "./state/records.js";
import type { Store } from "./state/store.js";

/**
 * The stock's description: `pattern_info.description`, else the stock name. GO's `Stock` and `Coupon` require the field
 * in answers but `pattern_info` is optional at creation; what WeChat answers then is not documented (our choice,
 * docs/wechatpay-cash-coupons.md#required-answer-fields).
 */
const descriptionOf = (stock: StockRecord): string => stock.body.pattern_info?.description ?? stock.body.stock_name;

/**
 * Stock as E7/E8 return it (GO `Stock`): every field GO requires is present; optional absent values are omitted,
 * never null.
 */
export function stockView(stock: StockRecord, store: Store): Record<string, unknown> {
  const { body } = stock;
  const rule = body.stock_use_rule;
  const couponRule = body.coupon_use_rule;
  const useRule: Record<string, unknown> = {
    max_coupons: rule.max_coupons,
    max_amount: rule.max_amount,
    // Required in answers (GO `StockUseRule`), optional at creation: unset means no daily cap, i.e. the whole budget
    // may be used in one day (our choice, docs/wechatpay-cash-coupons.md#required-answer-fields).
    max_amount_by_day: rule.max_amount_by_day ?? rule.max_amount,
    ...(couponRule.fixed_normal_coupon ? { fixed_normal_coupon: couponRule.fixed_normal_coupon } : {}),
    max_coupons_per_user: rule.max_coupons_per_user,
    coupon_type: "NORMAL",
    ...(couponRule.goods_tag ? { goods_tag: couponRule.goods_tag } : {}),
    ...(couponRule.trade_type ? { trade_type: couponRule.trade_type } : {}),
    combine_use: couponRule.combine_use ?? true,
  };
  return {
    stock_id: stock.stock_id,
    stock_creator_mchid: stock.creator_mchid,
    stock_name: body.stock_name,
    status: stock.status,
    create_time: formatRfc3339(stock.create_time),
    description: descriptionOf(stock),
    stock_use_rule: useRule,
    available_begin_time: formatRfc3339(stock.begin),
    available_end_time: formatRfc3339(stock.end),
    distributed_coupons: store.usageOf(stock.stock_id).count,
    no_cash: body.no_cash,
    ...(stock.start_time === undefined ? {} : { start_time: formatRfc3339(stock.start_time) }),
    ...(stock.stop_time === undefined ? {} : { stop_time: formatRfc3339(stock.stop_time) }),
    singleitem: (couponRule.available_items?.length ?? 0) > 0,
    stock_type: "NORMAL",
  };
}

/** SENDED, USED, or EXPIRED once the business clock is past the coupon's end. */
export function couponStatus(coupon: CouponRecord, now: number): "SENDED" | "USED" | "EXPIRED" {
  if (coupon.status === "SENDED" && now > coupon.end) return "EXPIRED";
  return coupon.status;
}

/** Coupon as E9/E12 return it (with coupon_id per OAS); `consume_information` only for the notification. */
export function couponView(
  coupon: CouponRecord,
  stock: StockRecord,
  now: number,
  withConsumeInformation = false,
): Record<string, unknown> {
  const fixed = stock.body.coupon_use_rule.fixed_normal_coupon;
  const view: Record<string, unknown> = {
    stock_creator_mchid: stock.creator_mchid,
    stock_id: stock.stock_id,
    coupon_id: coupon.coupon_id,
    coupon_name: stock.body.stock_name,
    status: couponStatus(coupon, now),
    description: descriptionOf(stock),
    create_time: formatRfc3339(coupon.create_time),
    coupon_type: "NORMAL",
    no_cash: stock.body.no_cash,
    available_begin_time: formatRfc3339(coupon.begin),
    available_end_time: formatRfc3339(coupon.end),
    singleitem: (stock.body.coupon_use_rule.available_items?.length ?? 0) > 0,
    ...(fixed ? { normal_coupon_information: fixed } : {}),
  };
  if (withConsumeInformation && coupon.consume) {
    view["consume_information"] = {
      consume_time: formatRfc3339(coupon.consume.consume_time),
      consume_mchid: coupon.consume.consume_mchid,
      transaction_id: coupon.consume.transaction_id,
    };
  }
  return view;
}
