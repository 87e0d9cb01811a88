import { FAVOR_PATH, type FavorContext, segment } from "./context.js";
import type {
  Coupon,
  CouponCollection,
  CouponDetailQuery,
  ListUserCouponsQuery,
  SendCouponRequest,
  SendCouponResponse,
} from "./types.js";
import {
  validateCouponDetailQuery,
  validatePathParam,
  validateSendCoupon,
  validateUserCouponsQuery,
} from "./validation.js";

/**
 * Coupon endpoints (E6, E9, E12).
 *
 * @example
 * const { coupon_id } = await client.coupons.send(openid, { stock_id, out_request_no: "1900000001-20240521-0001", appid });
 */
export class CouponsApi {
  constructor(private readonly context: FavorContext) {}

  /**
   * E6. Idempotent on out_request_no ("接口支持幂等重入"): retried with the same body on network errors, 429 and
   * 5xx, and a replay answers the same coupon_id. Keep the out_request_no when retrying after a thrown error.
   */
  async send(openid: string, request: SendCouponRequest): Promise<SendCouponResponse> {
    // Key order is fixed here, so the signed body does not depend on how the caller built the object.
    const body = {
      stock_id: request.stock_id,
      out_request_no: request.out_request_no,
      appid: request.appid,
      stock_creator_mchid: request.stock_creator_mchid ?? this.context.mchid,
    };
    validateSendCoupon(openid, { ...request, ...body });
    const { data } = await this.context.http.request<SendCouponResponse>({
      method: "POST",
      path: `${FAVOR_PATH}/users/${segment(openid)}/coupons`,
      json: body,
      idempotent: true,
    });
    return data;
  }

  /** E9. */
  async get(openid: string, couponId: string, query: CouponDetailQuery): Promise<Coupon> {
    validatePathParam("openid", openid);
    validatePathParam("coupon_id", couponId);
    validateCouponDetailQuery(query);
    const { data } = await this.context.http.request<Coupon>({
      method: "GET",
      path: `${FAVOR_PATH}/users/${segment(openid)}/coupons/${segment(couponId)}`,
      query: { appid: query.appid },
    });
    return data;
  }

  /** E12: a user's coupons, seen from the creator, the sender or a merchant where they are usable. */
  async list(openid: string, query: ListUserCouponsQuery): Promise<CouponCollection> {
    validatePathParam("openid", openid);
    validateUserCouponsQuery(query);
    const { data } = await this.context.http.request<CouponCollection>({
      method: "GET",
      path: `${FAVOR_PATH}/users/${segment(openid)}/coupons`,
      query: {
        appid: query.appid,
        stock_id: query.stock_id,
        status: query.status,
        creator_mchid: query.creator_mchid,
        sender_mchid: query.sender_mchid,
        available_mchid: query.available_mchid,
        offset: query.offset,
        limit: query.limit,
        business_type: query.business_type,
      },
    });
    return data;
  }
}
