/**
 * WeChat's send-coupon limit per merchant (500/s, docs/wechatpay-cash-coupons.md#rate-limits): the ceiling of every
 * configured rate.
 */
export const WECHAT_SEND_LIMIT_PER_SECOND = 500;
/** The default rate: 80 % of WeChat's limit, the headroom chosen in docs/aws-notes.md#holding-wechats-send-rate. */
export const DEFAULT_SEND_RATE_PER_SECOND = 400;
