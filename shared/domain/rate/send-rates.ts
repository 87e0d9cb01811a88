/**
 * WeChat's send-coupon limit per merchant (500/s, docs/wechatpay-cash-coupons.md#rate-limits): the ceiling of every
 * configured rate.
 */
export const WECHAT_SEND_LIMIT_PER_SECOND = 500;
/**
 * The default ceiling: WeChat's limit itself. The governor paces within the second and finds the limit that is really
 * left from 429s, so no fixed headroom is kept (docs/aws-notes.md#holding-wechats-send-rate).
 */
export const DEFAULT_SEND_RATE_PER_SECOND = WECHAT_SEND_LIMIT_PER_SECOND;
