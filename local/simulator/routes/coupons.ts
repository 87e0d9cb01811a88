import { type ApiRequest, type ApiResponse, ok, type SimContext } from "../context.js";
import { notFound, paramError, WechatApiError } from "../errors.js";
import type { Router } from "../router.js";
import { canonicalJson, parseJsonObject } from "../rules/schema.js";
import { checkSendAllowed, validateSendBody } from "../rules/send-coupon.js";
import type { CouponRecord } from "../state/records.js";
import { couponStatus, couponView } from "../views.js";
import { intQuery, onlyQuery, pathParam, requiredQuery } from "./params.js";

function sendCoupon(req: ApiRequest, ctx: SimContext): ApiResponse {
  ctx.counters.send_requests += 1;
  // The merchant may not use the API at all (its coupon product withdrawn): refused before anything of the request is
  // looked at, replays included (docs/wechatpay-cash-coupons.md#refusals-about-the-merchant).
  if (ctx.sendRevoked.has(req.caller.mchid)) throw new WechatApiError(403, "NO_AUTH", "发券商户无权限使用此API");
  const openid = pathParam(req, "openid", "用户openid");
  const raw = parseJsonObject(req.bodyText);
  const body = validateSendBody(raw, openid);
  const fingerprint = canonicalJson({ openid, body: raw });
  // Inferred (docs/wechatpay-cash-coupons.md#idempotency-and-replays): the key is (calling mchid, out_request_no). A
  // replay answers the first coupon_id and uses no budget, even if the stock has since been paused or exhausted.
  const previous = ctx.store.couponForRequest(req.caller.mchid, body.out_request_no);
  if (previous) {
    if (previous.fingerprint !== fingerprint)
      throw new WechatApiError(400, "RESOURCE_ALREADY_EXISTS", "发券请求重入，但本次请求与上次请求信息不一致");
    // The other order, switched on through the control API (`POST /_simulator/replays`): the replay meets the checks
    // a new send would, including the per-user limit its own coupon now counts against.
    if (ctx.replayChecks) checkSendAllowed(ctx.store, body, openid, req.caller, ctx.clock.now());
    ctx.counters.send_replays += 1;
    return ok({ coupon_id: previous.coupon_id });
  }
  const now = ctx.clock.now();
  const { stock, person } = checkSendAllowed(ctx.store, body, openid, req.caller, now);
  const afterReceive = stock.body.coupon_use_rule.coupon_available_time?.available_time_after_receive;
  const coupon: CouponRecord = {
    coupon_id: ctx.store.allocateCouponId(),
    stock_id: stock.stock_id,
    openid,
    appid: body.appid,
    sender_mchid: req.caller.mchid,
    out_request_no: body.out_request_no,
    fingerprint,
    ...(person === undefined ? {} : { person }),
    create_time: now,
    begin: stock.begin,
    end: afterReceive === undefined ? stock.end : Math.min(stock.end, now + afterReceive * 60_000),
    status: "SENDED",
  };
  ctx.store.record({ k: "coupon", v: coupon });
  return ok({ coupon_id: coupon.coupon_id });
}

function mayView(req: ApiRequest, coupon: CouponRecord, creator: string): boolean {
  return req.caller.mchid === creator || req.caller.mchid === coupon.sender_mchid;
}

function couponDetail(req: ApiRequest, ctx: SimContext): ApiResponse {
  onlyQuery(req, ["appid"]);
  const openid = pathParam(req, "openid", "用户openid");
  const couponId = pathParam(req, "coupon_id", "代金券id");
  const appid = requiredQuery(req, "appid", "appid必填");
  const coupon = ctx.store.coupons.get(couponId);
  const stock = coupon && ctx.store.stocks.get(coupon.stock_id);
  if (!coupon || !stock || coupon.openid !== openid || coupon.appid !== appid) throw notFound("券不存在");
  if (!mayView(req, coupon, stock.creator_mchid)) throw new WechatApiError(403, "REQUEST_BLOCKED", "调用商户无权限");
  return ok(couponView(coupon, stock, ctx.clock.now()));
}

const USER_COUPON_QUERY = [
  "appid",
  "stock_id",
  "status",
  "creator_mchid",
  "sender_mchid",
  "available_mchid",
  "offset",
  "limit",
  "business_type",
] as const;

function userCoupons(req: ApiRequest, ctx: SimContext): ApiResponse {
  onlyQuery(req, USER_COUPON_QUERY);
  const openid = pathParam(req, "openid", "用户openid");
  const appid = requiredQuery(req, "appid", "appid必填");
  const creator = req.query.get("creator_mchid") || undefined;
  const sender = req.query.get("sender_mchid") || undefined;
  const available = req.query.get("available_mchid") || undefined;
  if (!creator && !sender && !available)
    throw paramError("创建批次的商户号、批次发放商户号、可用商户号须任意选填一个", "creator_mchid", "query");
  if ((creator && creator !== req.caller.mchid) || (sender && sender !== req.caller.mchid))
    throw new WechatApiError(403, "REQUEST_BLOCKED", "调用商户无权限");
  const status = req.query.get("status") || undefined;
  if (status && status !== "SENDED" && status !== "USED") throw paramError("券状态不合法", "status", "query", status);
  const stockId = req.query.get("stock_id") || undefined;
  // When available_mchid is given, stock_id/status/offset/limit are ignored
  // (docs/wechatpay-cash-coupons.md#coupon-detail-and-user-coupons-e9-e12).
  const offset = available ? 0 : intQuery(req, "offset", { fallback: 0, max: 100_000 });
  const limit = available
    ? Number.MAX_SAFE_INTEGER
    : intQuery(req, "limit", { fallback: 20, min: 1, max: 100, tooLarge: "页大小超过阈值" });
  const now = ctx.clock.now();
  const rows = ctx.store.couponsOf(openid).flatMap((coupon) => {
    const stock = ctx.store.stocks.get(coupon.stock_id);
    if (!stock || coupon.appid !== appid || !mayView(req, coupon, stock.creator_mchid)) return [];
    if (creator && stock.creator_mchid !== creator) return [];
    if (sender && coupon.sender_mchid !== sender) return [];
    if (available) {
      const merchants = stock.body.coupon_use_rule.available_merchants ?? [stock.creator_mchid];
      return merchants.includes(available) && couponStatus(coupon, now) === "SENDED" ? [{ coupon, stock }] : [];
    }
    if (stockId && coupon.stock_id !== stockId) return [];
    if (status && couponStatus(coupon, now) !== status) return [];
    return [{ coupon, stock }];
  });
  // offset is a page index ("分页页码"), as for every list (local/simulator/README.md#list-offsets). business_type
  // MULTIUSE asks for 消费金, which the simulator does not issue.
  const businessType = req.query.get("business_type") || undefined;
  if (businessType && businessType !== "MULTIUSE")
    throw paramError("业务类型不合法", "business_type", "query", businessType);
  const listed = businessType ? [] : rows;
  const page = available ? listed : listed.slice(offset * limit, offset * limit + limit);
  return ok({
    data: page.map(({ coupon, stock }) => couponView(coupon, stock, now)),
    total_count: listed.length,
    limit: available ? listed.length : limit,
    offset,
  });
}

export function registerCouponRoutes(router: Router): void {
  const base = "/v3/marketing/favor/users/{openid}/coupons";
  router.add("POST", base, { name: "send-coupon", mutates: true }, sendCoupon);
  router.add("GET", `${base}/{coupon_id}`, { name: "coupon-detail" }, couponDetail);
  router.add("GET", base, { name: "user-coupons" }, userCoupons);
}
