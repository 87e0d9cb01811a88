/** Bundle-size probe: the whole cash-coupon client (transport, endpoints, zod validation). */
export { createWechatPayClient } from "../../../shared/wechatpay/client.js";
