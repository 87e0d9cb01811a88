/** WeChat's send-coupon limit per merchant (spec §1.1: 500/s): the ceiling of every configured rate. */
export const WECHAT_SEND_LIMIT_PER_SECOND = 500;
/** The default rate: 80 % of WeChat's limit, the headroom the design recommends (aws-notes §5). */
export const DEFAULT_SEND_RATE_PER_SECOND = 400;
