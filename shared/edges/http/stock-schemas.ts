import * as z from "zod";
import { MCHID, OUT_REQUEST_NO } from "./schemas.js";

/**
 * `POST /stocks`: WeChat's create-stock body (docs/wechatpay-cash-coupons.md#create-stock-e1), as the edge accepts it.
 * Shapes and types only: WeChat's business rules (name length, budget arithmetic, time window, list limits, R1–R14) are
 * applied by the WeChat client's validator (shared/wechatpay/favor/validation.ts), which names the failing field the
 * same way. Objects are strict because WeChat refuses fields it does not define (R15).
 *
 * `belong_merchant` and `stock_creator_mchid` are optional: they default to the configured merchant. WeChat's
 * create-stock has no `stock_creator_mchid` field (the creator is the calling merchant), so the handler drops it.
 */
const rfc3339 = () => z.iso.datetime({ offset: true });
const int = () => z.number().int();

export const stockUseRuleBody = z.strictObject({
  max_coupons: int().describe("Number of coupons in the stock (5 … 10,000,000)"),
  max_amount: int().describe("Budget in fen: coupon_amount × max_coupons"),
  max_amount_by_day: int().optional().describe("Daily budget in fen, ≤ max_amount, not 0"),
  max_coupons_per_user: int().describe("Coupons one user may receive (1 … 60)"),
  natural_person_limit: z.boolean().describe("Count per natural person (same ID card) instead of per account"),
  prevent_api_abuse: z.boolean().describe("Refuse users WeChat flags as risky"),
});

export const patternInfoBody = z.strictObject({
  description: z.string().describe("Usage description shown to the user (≤ 1000 characters)"),
  merchant_logo: z.string().optional().describe("media_url from POST /media/images (120×120)"),
  merchant_name: z.string().optional().describe("≤ 12 Chinese / 36 Latin characters"),
  background_color: z.string().optional().describe("COLOR010 … COLOR102"),
  coupon_image: z.string().optional().describe("media_url from POST /media/images (850×350)"),
  jump_target: z.enum(["PAYMENT_CODE", "MINI_PROGRAM", "DEFAULT_PAGE"]).optional(),
  mini_program_appid: z.string().optional().describe("Required when jump_target is MINI_PROGRAM"),
  mini_program_path: z.string().optional().describe("Required when jump_target is MINI_PROGRAM"),
});

export const couponUseRuleBody = z.strictObject({
  fixed_normal_coupon: z
    .strictObject({
      coupon_amount: int().describe("Face value in fen (more than 1, at most 100,000)"),
      transaction_minimum: int().describe("Minimum order in fen, more than coupon_amount"),
    })
    .optional()
    .describe("Required for stock_type NORMAL"),
  coupon_available_time: z
    .strictObject({
      fix_available_time: z
        .strictObject({
          available_week_day: z.array(int()).optional().describe("0 = Sunday … 6 = Saturday"),
          begin_time: int().describe("Seconds of the day, 0 … 86399"),
          end_time: int().optional().describe("Seconds of the day, 1 … 86399 (default 86399)"),
        })
        .optional(),
      second_day_available: z.boolean().optional(),
      available_time_after_receive: int().optional().describe("Minutes after receipt"),
    })
    .optional(),
  goods_tag: z.array(z.string()).optional(),
  trade_type: z.array(z.enum(["MICROAPP", "APPPAY", "PPAY", "CARD", "FACE", "OTHER"])).optional(),
  combine_use: z.boolean().optional(),
  available_items: z.array(z.string()).optional(),
  unavailable_items: z.array(z.string()).optional(),
  available_merchants: z.array(MCHID).optional(),
  limit_pay: z.array(z.string()).optional().describe("Exactly one payment-method code, e.g. CFT"),
  limit_card: z.strictObject({ name: z.string(), bin: z.array(z.string()) }).optional(),
});

export const createStockBody = z.strictObject({
  stock_name: z.string().describe("≤ 9 Chinese / 20 Latin characters, without _ , ; |"),
  comment: z.string().optional().describe("≤ 60 characters, visible to the creator only"),
  belong_merchant: MCHID.optional().describe("Defaults to the configured merchant (must be the calling merchant)"),
  stock_creator_mchid: MCHID.optional().describe(
    "Accepted for symmetry with the other stock routes and ignored: the creator is the configured merchant",
  ),
  available_begin_time: rfc3339().describe("RFC 3339; not in the past, within 365 days"),
  available_end_time: rfc3339().describe("RFC 3339; after begin, at most 90 days after it"),
  stock_use_rule: stockUseRuleBody,
  pattern_info: patternInfoBody.optional(),
  coupon_use_rule: couponUseRuleBody,
  no_cash: z.boolean().describe("true: no fund flow (免充值); false: budget locked at activation (预充值)"),
  stock_type: z.literal("NORMAL").describe("Only NORMAL is supported by WeChat"),
  out_request_no: OUT_REQUEST_NO,
  ext_info: z.string().optional().describe("A JSON string (≤ 128 characters)"),
});

export type CreateStockBody = z.infer<typeof createStockBody>;
