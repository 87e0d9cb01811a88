import { beijingDay } from "../clock.js";
import { invalidRequest, notFound, paramError, requestBlocked, WechatApiError } from "../errors.js";
import type { StockRecord } from "../state/records.js";
import type { Store } from "../state/store.js";
import { checkFields, type FieldSpec } from "./schema.js";
import { APPID, MCHID, OPENID, OUT_REQUEST_NO } from "./text.js";

export const SEND_FIELDS: Record<string, FieldSpec> = {
  stock_id: { t: "string", label: "批次号", req: true },
  out_request_no: { t: "string", label: "商户单据号", req: true },
  appid: { t: "string", label: "公众账号ID", req: true },
  stock_creator_mchid: { t: "string", label: "创建批次的商户号", req: true },
  // Documented but "暂未开放": present in the schema so that sending them hits S8, not R15.
  coupon_value: { t: "int", label: "指定面额发券，面额" },
  coupon_minimum: { t: "int", label: "指定面额发券，券门槛" },
};

export interface SendBody {
  stock_id: string;
  out_request_no: string;
  appid: string;
  stock_creator_mchid: string;
}

/** The calling merchant as far as sending is concerned. */
export interface Sender {
  mchid: string;
  appids: readonly string[];
  /** Creators that authorized this merchant to send their stocks. */
  authorizedBy: readonly string[];
}

/** Field checks of E6 (R13, R15, S8). */
export function validateSendBody(raw: Record<string, unknown>, openid: string): SendBody {
  checkFields(raw, SEND_FIELDS);
  if (raw["coupon_value"] !== undefined || raw["coupon_minimum"] !== undefined)
    throw paramError("参数错误,请核对文档要求");
  const body = raw as unknown as SendBody;
  if (!OPENID.test(openid)) throw paramError("openid不合法", "openid", "uri_template", openid);
  if (!/^[0-9]{1,20}$/.test(body.stock_id)) throw paramError("批次号不合法", "/stock_id");
  if (!OUT_REQUEST_NO.test(body.out_request_no)) throw paramError("商户单据号格式错误", "/out_request_no");
  if (!APPID.test(body.appid)) throw paramError("appid不合法", "/appid");
  if (!MCHID.test(body.stock_creator_mchid)) throw new WechatApiError(400, "MCH_NOT_EXISTS", "商户号不合法");
  return body;
}

export interface SendDecision {
  stock: StockRecord;
  person: string | undefined;
}

/**
 * S1–S7 (docs/wechatpay-cash-coupons.md#validation-rules), in the order WeChat is most likely to check them (existence,
 * rights, user, budget).
 */
export function checkSendAllowed(
  store: Store,
  body: SendBody,
  openid: string,
  sender: Sender,
  now: number,
): SendDecision {
  const stock = store.stocks.get(body.stock_id);
  // S1
  if (!stock) throw notFound("批次不存在");
  if (stock.creator_mchid !== body.stock_creator_mchid)
    throw paramError("批次号与创建批次的商户号不匹配", "/stock_creator_mchid");
  // S2
  if (sender.mchid !== stock.creator_mchid && !sender.authorizedBy.includes(stock.creator_mchid))
    throw requestBlocked("批次不支持跨商户发券");
  // S3
  if (!sender.appids.includes(body.appid))
    throw new WechatApiError(400, "APPID_MCHID_NOT_MATCH", "商户号与appid不匹配");
  const user = store.users.get(openid);
  if (user?.appid !== undefined && user.appid !== body.appid) throw invalidRequest("openid与appID不匹配");
  // S4
  if (stock.status !== "running" || now < stock.begin || now > stock.end) throw invalidRequest("活动已结束或未激活");
  const rule = stock.body.stock_use_rule;
  // S7
  if (rule.prevent_api_abuse && user?.risky) throw new WechatApiError(403, "USER_ACCOUNT_ABNORMAL", "用户非法");
  // S6: per openid (observed RULE_LIMIT), and per natural person (table: REQUEST_BLOCKED 用户被限领拦截)
  const usage = store.usageOf(stock.stock_id);
  if ((usage.perOpenid.get(openid) ?? 0) >= rule.max_coupons_per_user)
    throw new WechatApiError(403, "RULE_LIMIT", "用户已达最大领券次数");
  const person = rule.natural_person_limit ? user?.natural_person_id : undefined;
  if (person !== undefined && (usage.perPerson.get(person) ?? 0) >= rule.max_coupons_per_user)
    throw requestBlocked("用户被限领拦截");
  // S5
  const amount = stock.body.coupon_use_rule.fixed_normal_coupon?.coupon_amount ?? 0;
  const today = beijingDay(now);
  const overDay =
    rule.max_amount_by_day !== undefined && (usage.byDay.get(today) ?? 0) + amount > rule.max_amount_by_day;
  if (usage.count >= rule.max_coupons || usage.amount + amount > rule.max_amount || overDay)
    throw new WechatApiError(403, "NOT_ENOUGH", "批次预算不足");
  return { stock, person: user?.natural_person_id };
}
