import { parseRfc3339 } from "../clock.js";
import { invalidRequest, paramError, requestBlocked } from "../errors.js";
import type { CreateStockBody } from "../state/records.js";
import { checkFields, type FieldSpec } from "./schema.js";
import { charCount, hanCount, MCHID, OUT_REQUEST_NO, weightedLength } from "./text.js";

const str = (label: string, req = false): FieldSpec => ({ t: "string", label, req });
const int = (label: string, req = false): FieldSpec => ({ t: "int", label, req });
const bool = (label: string, req = false): FieldSpec => ({ t: "bool", label, req });
const strings = (label: string, req = false): FieldSpec => ({ t: "array", label, req, items: str(label) });

/**
 * Fields of E1 (GO `CreateCouponStockRequest`, docs/wechatpay-cash-coupons.md#create-stock-e1); anything else is R15.
 */
export const CREATE_STOCK_FIELDS: Record<string, FieldSpec> = {
  stock_name: str("批次名称", true),
  comment: str("批次备注"),
  belong_merchant: str("归属商户号", true),
  available_begin_time: str("可用时间-开始时间", true),
  available_end_time: str("可用时间-结束时间", true),
  stock_use_rule: {
    t: "object",
    label: "发放规则",
    req: true,
    fields: {
      max_coupons: int("发放总上限", true),
      max_amount: int("总预算", true),
      max_amount_by_day: int("单天预算发放上限"),
      max_coupons_per_user: int("单个用户可领个数", true),
      natural_person_limit: bool("是否开启自然人限制", true),
      prevent_api_abuse: bool("是否开启防刷拦截", true),
    },
  },
  pattern_info: {
    t: "object",
    label: "样式设置",
    fields: {
      description: str("使用说明", true),
      merchant_logo: str("商户logo"),
      merchant_name: str("品牌名称"),
      background_color: str("背景颜色"),
      coupon_image: str("券详情图片"),
      jump_target: str("枚举值"),
      mini_program_appid: str("小程序appid"),
      mini_program_path: str("小程序path"),
    },
  },
  coupon_use_rule: {
    t: "object",
    label: "核销规则",
    req: true,
    fields: {
      fixed_normal_coupon: {
        t: "object",
        label: "固定面额满减券使用规则",
        fields: { coupon_amount: int("面额", true), transaction_minimum: int("使用券金额门槛", true) },
      },
      coupon_available_time: {
        t: "object",
        label: "券生效时间",
        fields: {
          fix_available_time: {
            t: "object",
            label: "固定时间段可用",
            fields: {
              available_week_day: { t: "array", label: "可用星期数", items: int("可用星期数") },
              begin_time: int("当天开始时间", true),
              end_time: int("当天结束时间"),
            },
          },
          second_day_available: bool("领取后N天开始生效"),
          available_time_after_receive: int("领取后有效时间"),
        },
      },
      goods_tag: strings("订单优惠标记"),
      trade_type: strings("支付方式"),
      combine_use: bool("是否可叠加其他优惠"),
      available_items: strings("可核销商品编码"),
      unavailable_items: strings("不参与优惠商品编码"),
      available_merchants: strings("可用商户"),
      limit_pay: strings("指定付款方式"),
      limit_card: {
        t: "object",
        label: "指定银行卡BIN",
        fields: { name: str("银行卡名称", true), bin: strings("指定卡BIN", true) },
      },
    },
  },
  no_cash: bool("营销经费", true),
  stock_type: str("批次类型", true),
  out_request_no: str("商户单据号", true),
  ext_info: str("扩展属性"),
};

const DAY_MS = 86_400_000;
const TRADE_TYPES = new Set(["MICROAPP", "APPPAY", "PPAY", "CARD", "FACE", "OTHER"]);
const JUMP_TARGETS = new Set(["PAYMENT_CODE", "MINI_PROGRAM", "DEFAULT_PAGE"]);
// GO's `BackgroundColor` enum, upper case (docs/wechatpay-cash-coupons.md#enums).
const BACKGROUND_COLORS = new Set(
  ["010", "020", "030", "040", "050", "060", "070", "080", "081", "082", "090", "100", "101", "102"].map(
    (n) => `COLOR${n}`,
  ),
);

export interface CreateStockContext {
  callerMchid: string;
  now: number;
  beginToleranceMs: number;
  isUploadedImage(url: string): boolean;
}

function checkList(list: string[] | undefined, field: string, min: number, max: number, itemMax: number): void {
  if (list === undefined) return;
  if (list.length < min || list.length > max) throw paramError(`${field}数量须在${min}到${max}之间`, field);
  for (const item of list)
    if (item.length < 1 || item.length > itemMax) throw paramError(`${field}单项长度须在1到${itemMax}之间`, field);
}

function checkTimes(body: CreateStockBody, ctx: CreateStockContext): { begin: number; end: number } {
  const begin = parseRfc3339(body.available_begin_time);
  if (begin === undefined) throw paramError("输入时间格式错误", "/available_begin_time");
  const end = parseRfc3339(body.available_end_time);
  if (end === undefined) throw paramError("输入时间格式错误", "/available_end_time");
  // Observed: a past begin time is answered 403 REQUEST_BLOCKED (R4, docs/wechatpay-cash-coupons.md#validation-rules);
  // we tolerate a little clock skew.
  if (begin < ctx.now - ctx.beginToleranceMs) throw requestBlocked("活动未开始或已结束");
  if (begin > ctx.now + 365 * DAY_MS) throw paramError("开始时间不能晚于当前时间365天", "/available_begin_time");
  if (end - begin < 1000) throw paramError("结束时间须晚于开始时间", "/available_end_time");
  if (end - begin > 90 * DAY_MS) throw paramError("可用时间跨度不能超过90天", "/available_end_time");
  return { begin, end };
}

function checkUseRule(body: CreateStockBody): void {
  const rule = body.stock_use_rule;
  const fixed = body.coupon_use_rule.fixed_normal_coupon;
  if (body.stock_type !== "NORMAL") throw paramError("批次类型仅支持NORMAL", "/stock_type");
  if (!fixed) throw paramError("NORMAL批次必须填写固定面额满减券使用规则", "/coupon_use_rule/fixed_normal_coupon");
  if (fixed.coupon_amount <= 1 || fixed.coupon_amount > 100_000)
    throw paramError("面额须大于1分且小于等于1000元", "/coupon_use_rule/fixed_normal_coupon/coupon_amount");
  if (fixed.transaction_minimum <= fixed.coupon_amount)
    throw paramError("使用门槛须大于面额", "/coupon_use_rule/fixed_normal_coupon/transaction_minimum");
  if (rule.max_coupons < 5 || rule.max_coupons > 10_000_000)
    throw paramError("发放总上限须在5到10000000之间", "/stock_use_rule/max_coupons");
  if (rule.max_amount !== fixed.coupon_amount * rule.max_coupons)
    throw paramError("批次预算等于批次面额乘以发券数", "/stock_use_rule/max_amount");
  if (rule.max_amount > 10_000_000_000) throw paramError("总预算不能超过1亿元", "/stock_use_rule/max_amount");
  if (rule.max_amount_by_day !== undefined && (rule.max_amount_by_day <= 0 || rule.max_amount_by_day > rule.max_amount))
    throw paramError("单天预算须大于0且不超过总预算", "/stock_use_rule/max_amount_by_day");
  if (rule.max_coupons_per_user < 1 || rule.max_coupons_per_user > 60 || rule.max_coupons_per_user > rule.max_coupons)
    throw paramError("单个用户可领个数须在1到60之间且不超过发放总上限", "/stock_use_rule/max_coupons_per_user");
}

function checkCouponRule(body: CreateStockBody): void {
  const rule = body.coupon_use_rule;
  checkList(rule.goods_tag, "/coupon_use_rule/goods_tag", 0, 50, 128);
  for (const tag of rule.goods_tag ?? [])
    if (!/^[A-Za-z0-9_]+$/.test(tag))
      throw paramError("订单优惠标记只能包含字母、数字和下划线", "/coupon_use_rule/goods_tag");
  checkList(rule.available_items, "/coupon_use_rule/available_items", 1, 50, 128);
  checkList(rule.unavailable_items, "/coupon_use_rule/unavailable_items", 1, 50, 128);
  checkList(rule.available_merchants, "/coupon_use_rule/available_merchants", 1, 50, 20);
  for (const m of rule.available_merchants ?? [])
    if (!MCHID.test(m)) throw paramError("商户号不合法", "/coupon_use_rule/available_merchants");
  for (const t of rule.trade_type ?? [])
    if (!TRADE_TYPES.has(t)) throw paramError("支付方式不合法", "/coupon_use_rule/trade_type");
  if (rule.limit_pay !== undefined && rule.limit_pay.length !== 1)
    throw paramError("指定付款方式只能填写1个", "/coupon_use_rule/limit_pay");
  const card = rule.limit_card;
  if (card) {
    if (charCount(card.name) < 1 || hanCount(card.name) > 4 || charCount(card.name) > 4)
      throw paramError("银行卡名称不能超过4个中文字", "/coupon_use_rule/limit_card/name");
    const bins = card.bin;
    if (bins.length < 1 || bins.length > 10)
      throw paramError("指定卡BIN数量须在1到10之间", "/coupon_use_rule/limit_card/bin");
    for (const bin of bins)
      if (!/^[0-9]{6,9}$/.test(bin)) throw paramError("卡BIN须为6到9位数字", "/coupon_use_rule/limit_card/bin");
  }
  const available = rule.coupon_available_time;
  const fix = available?.fix_available_time;
  for (const day of fix?.available_week_day ?? [])
    if (day < 0 || day > 6) throw paramError("可用星期数须在0到6之间", "/coupon_use_rule/coupon_available_time");
  // seconds of the day: begin_time 0 … 86399, end_time 1 … 86399 (OAS FixAvailableTime, GO)
  if (fix && (fix.begin_time < 0 || fix.begin_time > 86_399))
    throw paramError(
      "当天开始时间须在0到86399秒之间",
      "/coupon_use_rule/coupon_available_time/fix_available_time/begin_time",
    );
  if (fix?.end_time !== undefined && (fix.end_time < 1 || fix.end_time > 86_399))
    throw paramError(
      "当天结束时间须在1到86399秒之间",
      "/coupon_use_rule/coupon_available_time/fix_available_time/end_time",
    );
  if (available?.available_time_after_receive !== undefined && available.available_time_after_receive < 1)
    throw paramError("领取后有效时间须大于0", "/coupon_use_rule/coupon_available_time/available_time_after_receive");
}

function checkPattern(body: CreateStockBody, ctx: CreateStockContext): void {
  const p = body.pattern_info;
  if (!p) return;
  if (charCount(p.description) < 1 || charCount(p.description) > 1000)
    throw paramError("使用说明长度须在1到1000之间", "/pattern_info/description");
  if (p.merchant_name !== undefined && weightedLength(p.merchant_name, 3) > 36)
    throw paramError("品牌名称不能超过12个中文字或36个英文字母", "/pattern_info/merchant_name");
  if (p.background_color !== undefined && !BACKGROUND_COLORS.has(p.background_color))
    throw paramError("背景颜色不合法", "/pattern_info/background_color");
  if (p.jump_target !== undefined && !JUMP_TARGETS.has(p.jump_target))
    throw paramError("跳转目标不合法", "/pattern_info/jump_target");
  if (p.jump_target === "MINI_PROGRAM" && (!p.mini_program_appid || !p.mini_program_path))
    throw paramError("跳转小程序时须填写小程序appid和path", "/pattern_info/mini_program_appid");
  for (const [field, url] of [
    ["merchant_logo", p.merchant_logo],
    ["coupon_image", p.coupon_image],
  ] as const) {
    if (url === undefined) continue;
    if (url.length > 128 || !ctx.isUploadedImage(url))
      throw paramError("图片须使用图片上传(营销专用)接口返回的URL", `/pattern_info/${field}`);
  }
}

/**
 * Checks an E1 body against R1–R15 (docs/wechatpay-cash-coupons.md#validation-rules); returns the typed body and its
 * validity window.
 */
export function validateCreateStock(
  raw: Record<string, unknown>,
  ctx: CreateStockContext,
): { body: CreateStockBody; begin: number; end: number } {
  checkFields(raw, CREATE_STOCK_FIELDS);
  const body = raw as unknown as CreateStockBody;
  const name = body.stock_name;
  if (charCount(name) < 1 || hanCount(name) > 9 || weightedLength(name, 2) > 20)
    throw paramError("批次名称不能超过9个中文字或20个英文字母", "/stock_name");
  if (/[_,;|]/.test(name)) throw paramError("批次名称不能包含_,;|等特殊字符", "/stock_name");
  if (body.comment !== undefined && charCount(body.comment) > 60)
    throw paramError("批次备注不能超过60个字", "/comment");
  if (!OUT_REQUEST_NO.test(body.out_request_no)) throw paramError("商户单据号格式错误", "/out_request_no");
  if (body.ext_info !== undefined) {
    let ok = body.ext_info.length <= 128;
    try {
      JSON.parse(body.ext_info);
    } catch {
      ok = false;
    }
    if (!ok) throw paramError("扩展属性须为不超过128字符的JSON字符串", "/ext_info");
  }
  if (body.belong_merchant !== ctx.callerMchid) throw invalidRequest("非法的商户号");
  const window = checkTimes(body, ctx);
  checkUseRule(body);
  checkCouponRule(body);
  checkPattern(body, ctx);
  return { body, ...window };
}
