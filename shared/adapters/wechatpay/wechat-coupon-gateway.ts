import { CallWithheldError } from "../../domain/errors.js";
import type { CouponGateway, HeldCoupon, SendCouponCall, StockInfo } from "../../domain/gateway.js";
import { recordWechatLatency } from "../../observability/metrics.js";
import type { CreateStockRequest } from "../../wechatpay/favor/types.js";
import { toGatewayError } from "./gateway-errors.js";
import type { MerchantRuntime } from "./merchant-runtime.js";

/** E12 page size when looking a lost send up. */
const FIND_LIMIT = 50;

/** The domain's CouponGateway over the WeChat Pay client. */
export class WechatCouponGateway implements CouponGateway {
  constructor(private readonly merchant: MerchantRuntime) {}

  async sendCoupon(call: SendCouponCall, beforeRequest?: () => Promise<boolean>): Promise<{ couponId: string }> {
    const { client } = await this.merchant.get();
    // After the credentials (a Secrets Manager read may take any time), right before the request is signed and sent.
    if (beforeRequest !== undefined && !(await beforeRequest())) {
      throw new CallWithheldError(`the send of ${call.outRequestNo} was not started`);
    }
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

  async findCoupons(call: Omit<SendCouponCall, "outRequestNo">): Promise<{ coupons: HeldCoupon[]; complete: boolean }> {
    const { client } = await this.merchant.get();
    try {
      // One page of the stock's coupons for this user: a user rarely holds many of one stock (max_coupons_per_user),
      // and a caller told the list is incomplete treats the send as ambiguous rather than guessing.
      const page = await client.coupons.list(call.openid, {
        appid: call.appid,
        stock_id: call.stockId,
        creator_mchid: call.stockCreatorMchid,
        offset: 0,
        limit: FIND_LIMIT,
      });
      const data = page.data ?? [];
      const coupons = data.flatMap((c) => (c.coupon_id ? [{ couponId: c.coupon_id, createTime: c.create_time }] : []));
      // WeChat's models disagree on whether E12 answers carry coupon_id (docs/wechatpay-cash-coupons.md): a coupon
      // listed without one cannot be matched, so the list is then not complete either.
      return { coupons, complete: coupons.length === data.length && page.total_count <= data.length };
    } catch (error) {
      throw toGatewayError(error);
    }
  }

  async getStock(call: { stockId: string; stockCreatorMchid: string }): Promise<StockInfo> {
    const { client } = await this.merchant.get();
    try {
      const stock = await client.stocks.get(call.stockId, { stock_creator_mchid: call.stockCreatorMchid });
      const maxCoupons = stock.stock_use_rule?.max_coupons;
      return {
        stockId: stock.stock_id,
        creatorMchid: stock.stock_creator_mchid,
        status: stock.status,
        beginMs: Date.parse(stock.available_begin_time),
        endMs: Date.parse(stock.available_end_time),
        ...(maxCoupons === undefined ? {} : { maxCoupons }),
        distributedCoupons: stock.distributed_coupons,
      };
    } catch (error) {
      throw toGatewayError(error);
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
