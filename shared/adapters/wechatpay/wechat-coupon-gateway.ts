import type { CouponGateway, SendCouponCall } from "../../domain/gateway.js";
import { recordWechatLatency } from "../../observability/metrics.js";
import type { CreateStockRequest } from "../../wechatpay/favor/types.js";
import { toGatewayError } from "./gateway-errors.js";
import type { MerchantRuntime } from "./merchant-runtime.js";

/** The domain's CouponGateway over the WeChat Pay client. */
export class WechatCouponGateway implements CouponGateway {
  constructor(private readonly merchant: MerchantRuntime) {}

  async sendCoupon(call: SendCouponCall): Promise<{ couponId: string }> {
    const { client } = await this.merchant.get();
    const started = performance.now();
    try {
      const { coupon_id } = await client.coupons.send(call.openid, {
        stock_id: call.stockId,
        out_request_no: call.outRequestNo,
        appid: call.appid,
        stock_creator_mchid: call.stockCreatorMchid,
      });
      return { couponId: coupon_id };
    } catch (error) {
      throw toGatewayError(error);
    } finally {
      recordWechatLatency(performance.now() - started);
    }
  }

  async createStock(body: Record<string, unknown>): Promise<{ stock_id: string; create_time: string }> {
    const { client } = await this.merchant.get();
    try {
      return await client.stocks.create(body as unknown as CreateStockRequest);
    } catch (error) {
      throw toGatewayError(error);
    }
  }
}
