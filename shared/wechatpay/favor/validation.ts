import * as z from "zod";
import { WechatPayValidationError } from "../errors.js";
import type {
  CreateStockRequest,
  ImageUploadRequest,
  ListStocksQuery,
  ListUserCouponsQuery,
  PageQuery,
  SendCouponRequest,
  SetCallbackRequest,
} from "./types.js";

/**
 * Client-side checks of WeChat's rules R1–R14 and S8 (docs/wechatpay-cash-coupons.md#validation-rules) and of the
 * documented query limits, run before any network call. Shapes are zod schemas; rules spanning several fields (budget
 * arithmetic, time window) follow once the shape holds, so each failure names exactly one field by its JSON path
 * (`stock_use_rule.max_amount`).
 */

const DAY_MS = 86_400_000;
/** WeChat wants begin ≥ now; a begin a little in the past (clock skew, "now" computed earlier) is let through. */
export const BEGIN_TIME_TOLERANCE_MS = 60_000;
export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

const HAN = /\p{Script=Han}/gu;
// 4-byte UTF-8 (astral code points: emoji…) or a lone surrogate, which has no UTF-8 form at all.
const NOT_1_TO_3_BYTE_UTF8 = /[\u{10000}-\u{10FFFF}]|[\uD800-\uDFFF]/u;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const hanCount = (text: string): number => text.match(HAN)?.length ?? 0;
const charCount = (text: string): number => [...text].length;
/** "≤ N Chinese characters / ≤ M letters": a Chinese character costs M/N letters, rounded as WeChat's 2 and 3. */
const weightedLength = (text: string, hanWeight: number): number =>
  hanCount(text) * hanWeight + charCount(text) - hanCount(text);

const int = () => z.number({ error: "must be a number" }).int("must be an integer");
const mchid = () => z.string().regex(/^[0-9]{1,20}$/, "must be a merchant id (1–20 digits)");
const appid = () => z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "must be an appid (1–128 letters, digits, _ or -)");
const rfc3339 = () => z.string().regex(RFC3339, "must be an RFC 3339 time such as 2015-05-20T13:29:35+08:00");
const outRequestNo = () =>
  z.string().regex(/^[A-Za-z0-9|_*-]{1,128}$/, "must be 1–128 characters of letters, digits, |, _, * or -");
const stockId = () => z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, "must be a stock id (1–20 letters or digits)");
const imageUrl = () => z.url("must be a media_url from the image upload").max(128, "at most 128 characters");
const codeList = (itemMax: number) =>
  z
    .array(z.string().min(1, "must not be empty").max(itemMax, `each at most ${itemMax} characters`))
    .min(1, "needs at least 1 item")
    .max(50, "at most 50 items");

const TRADE_TYPES = ["MICROAPP", "APPPAY", "PPAY", "CARD", "FACE", "OTHER"] as const;
const STOCK_STATUSES = ["unactivated", "audit", "running", "stoped", "paused"] as const;
// GO's `BackgroundColor` enum, upper case (docs/wechatpay-cash-coupons.md#enums).
const BACKGROUND_COLORS = [
  "010",
  "020",
  "030",
  "040",
  "050",
  "060",
  "070",
  "080",
  "081",
  "082",
  "090",
  "100",
  "101",
  "102",
].map((n) => `COLOR${n}`) as [string, ...string[]];

const createStockSchema = z.strictObject({
  stock_name: z
    .string()
    .min(1, "is required")
    .refine((s) => !/[_,;|]/.test(s), "must not contain _ , ; or |")
    .refine(
      (s) => hanCount(s) <= 9 && weightedLength(s, 2) <= 20,
      "at most 9 Chinese characters or 20 letters (a Chinese character counts as 2)",
    ),
  comment: z
    .string()
    .refine((s) => charCount(s) <= 60, "at most 60 characters")
    .optional(),
  belong_merchant: mchid(),
  available_begin_time: rfc3339(),
  available_end_time: rfc3339(),
  stock_use_rule: z.strictObject({
    max_coupons: int().min(5, "at least 5").max(10_000_000, "at most 10,000,000"),
    max_amount: int().min(1, "must be positive").max(10_000_000_000, "at most 10,000,000,000 fen (1亿元)"),
    max_amount_by_day: int().min(1, "must be positive (0 is refused)").optional(),
    max_coupons_per_user: int().min(1, "at least 1").max(60, "at most 60"),
    natural_person_limit: z.boolean({ error: "must be a boolean" }),
    prevent_api_abuse: z.boolean({ error: "must be a boolean" }),
  }),
  pattern_info: z
    .strictObject({
      description: z
        .string()
        .min(1, "is required")
        .refine((s) => charCount(s) <= 1000, "at most 1000 characters"),
      merchant_logo: imageUrl().optional(),
      merchant_name: z
        .string()
        .min(1, "must not be empty")
        .refine((s) => hanCount(s) <= 12 && weightedLength(s, 3) <= 36, "at most 12 Chinese characters or 36 letters")
        .optional(),
      background_color: z.enum(BACKGROUND_COLORS, "must be one of COLOR010 … COLOR102").optional(),
      coupon_image: imageUrl().optional(),
      jump_target: z.enum(["PAYMENT_CODE", "MINI_PROGRAM", "DEFAULT_PAGE"], "must be a JumpTarget").optional(),
      mini_program_appid: appid().optional(),
      mini_program_path: z.string().min(1, "must not be empty").max(128, "at most 128 characters").optional(),
    })
    .optional(),
  coupon_use_rule: z.strictObject({
    fixed_normal_coupon: z
      .strictObject({
        coupon_amount: int().min(2, "must be more than 1 fen").max(100_000, "at most 100,000 fen (1000元)"),
        transaction_minimum: int().min(1, "must be positive"),
      })
      .optional(),
    coupon_available_time: z
      .strictObject({
        fix_available_time: z
          .strictObject({
            available_week_day: z
              .array(int().min(0, "0 (Sunday) … 6").max(6, "0 … 6 (Saturday)"))
              .max(7, "at most 7 days")
              .optional(),
            // GO FixedAvailableTime: begin_time required; OAS: seconds of the day, end_time 1 … 86399 (default 23:59:59)
            begin_time: int().min(0, "seconds of the day, 0 … 86399").max(86_399, "at most 86399"),
            end_time: int().min(1, "seconds of the day, 1 … 86399").max(86_399, "at most 86399").optional(),
          })
          .optional(),
        second_day_available: z.boolean({ error: "must be a boolean" }).optional(),
        available_time_after_receive: int().min(1, "must be positive (minutes)").optional(),
      })
      .optional(),
    goods_tag: z
      .array(z.string().regex(/^[A-Za-z0-9_]{1,128}$/, "letters, digits and _ only, at most 128"))
      .max(50, "at most 50 items")
      .optional(),
    trade_type: z.array(z.enum(TRADE_TYPES, `must be one of ${TRADE_TYPES.join(", ")}`)).optional(),
    combine_use: z.boolean({ error: "must be a boolean" }).optional(),
    available_items: codeList(128).optional(),
    unavailable_items: codeList(128).optional(),
    available_merchants: z.array(mchid()).min(1, "needs at least 1 item").max(50, "at most 50 items").optional(),
    limit_pay: z.array(z.string().min(1, "must not be empty").max(32)).length(1, "exactly 1 item").optional(),
    limit_card: z
      .strictObject({
        // both required (GO CardLimitation)
        name: z.string().refine((s) => charCount(s) >= 1 && charCount(s) <= 4, "1 to 4 (Chinese) characters"),
        bin: z
          .array(z.string().regex(/^[0-9]{6,9}$/, "6 to 9 digits"))
          .min(1, "needs at least 1 item")
          .max(10, "at most 10 items"),
      })
      .optional(),
  }),
  no_cash: z.boolean({ error: "must be a boolean" }),
  stock_type: z.literal("NORMAL", "only NORMAL is supported"),
  out_request_no: outRequestNo(),
  ext_info: z.string().max(128, "at most 128 characters").refine(isJson, "must be a JSON string").optional(),
});

const sendCouponSchema = z.strictObject({
  stock_id: stockId(),
  out_request_no: outRequestNo(),
  appid: appid(),
  stock_creator_mchid: mchid(),
});

const listStocksSchema = z.strictObject({
  offset: int().min(0, "page index from 0"),
  limit: int().min(1, "at least 1").max(10, "at most 10"),
  stock_creator_mchid: mchid(),
  create_start_time: rfc3339().optional(),
  create_end_time: rfc3339().optional(),
  status: z.enum(STOCK_STATUSES, `must be one of ${STOCK_STATUSES.join(", ")}`).optional(),
});

const pageSchema = (maxOffset: number, maxLimit: number) =>
  z.strictObject({
    offset: int().min(0, "page index from 0").max(maxOffset, `at most ${maxOffset}`),
    limit: int().min(1, "at least 1").max(maxLimit, `at most ${maxLimit}`),
    stock_creator_mchid: mchid(),
  });
const merchantsPageSchema = pageSchema(1000, 50);
const itemsPageSchema = pageSchema(500, 100);

const couponDetailSchema = z.strictObject({ appid: appid() });

const userCouponsSchema = z.strictObject({
  appid: appid(),
  stock_id: stockId().optional(),
  status: z.enum(["SENDED", "USED"], "must be SENDED or USED").optional(),
  creator_mchid: mchid().optional(),
  sender_mchid: mchid().optional(),
  available_mchid: mchid().optional(),
  offset: int().min(0, "page index from 0").optional(),
  limit: int().min(1, "at least 1").optional(),
  business_type: z.enum(["MULTIUSE"], "must be MULTIUSE").optional(),
});

const setCallbackSchema = z.strictObject({
  mchid: mchid(),
  notify_url: z.string().refine(isNotifyUrl, "must be an https URL without a query string"),
  switch: z.boolean({ error: "must be a boolean" }).optional(),
});

const callbackQuerySchema = z.strictObject({ mchid: mchid() });

const PATH_PARAMS = {
  openid: /^[A-Za-z0-9_-]{1,128}$/,
  stock_id: /^[A-Za-z0-9_-]{1,20}$/,
  coupon_id: /^[A-Za-z0-9_-]{1,64}$/,
} as const;

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** WeChat wants https and no query. Plain http is accepted for loopback receivers only (the local simulator). */
function isNotifyUrl(text: string): boolean {
  if (text.length > 256) return false;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.search !== "" || text.includes("?") || url.hash !== "") return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
}

function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : `${out === "" ? "" : "."}${String(part)}`;
  return out;
}

function parse(schema: z.ZodType, value: unknown): void {
  const result = schema.safeParse(value, {
    error: (issue) => (issue.code === "invalid_type" && issue.input === undefined ? "is required" : undefined),
  });
  if (result.success) return;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    throw new WechatPayValidationError(
      fieldPath([...issue.path, issue.keys[0]!]),
      "is not a field of this API (WeChat refuses unknown fields)",
    );
  }
  throw new WechatPayValidationError(fieldPath(issue.path) || "(body)", issue.message);
}

/** R2: WeChat accepts only characters of 1–3 UTF-8 bytes, in every string of a request. */
function checkCharset(value: unknown, path: PropertyKey[] = []): void {
  if (typeof value === "string") {
    if (NOT_1_TO_3_BYTE_UTF8.test(value)) {
      throw new WechatPayValidationError(
        fieldPath(path) || "(value)",
        "contains a character WeChat refuses (emoji or other 4-byte UTF-8)",
      );
    }
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) checkCharset(item, [...path, index]);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) checkCharset(item, [...path, key]);
  }
}

function fail(field: string, message: string): never {
  throw new WechatPayValidationError(field, message);
}

export interface CreateStockContext {
  /** The calling merchant: belong_merchant must be it (R3). */
  mchid: string;
  /** Wall clock in ms, for the validity window (R4). */
  now: number;
}

/** Checks an E1 body against R1–R14 and the documented shapes; throws WechatPayValidationError naming the field. */
export function validateCreateStock(body: CreateStockRequest, context: CreateStockContext): void {
  parse(createStockSchema, body);
  checkCharset(body);
  // R3: the stock belongs to whoever creates it.
  if (body.belong_merchant !== context.mchid) fail("belong_merchant", `must be the calling merchant ${context.mchid}`);
  // R4: begin in [now, now + 365 d]; end after begin by 1 s … 90 d.
  const begin = Date.parse(body.available_begin_time);
  const end = Date.parse(body.available_end_time);
  if (Number.isNaN(begin)) fail("available_begin_time", "is not a valid date");
  if (Number.isNaN(end)) fail("available_end_time", "is not a valid date");
  if (begin < context.now - BEGIN_TIME_TOLERANCE_MS) fail("available_begin_time", "must not be in the past");
  if (begin > context.now + 365 * DAY_MS) fail("available_begin_time", "must be within 365 days from now");
  if (end - begin < 1000) fail("available_end_time", "must be at least 1 s after available_begin_time");
  if (end - begin > 90 * DAY_MS) fail("available_end_time", "must be at most 90 days after available_begin_time");
  // R11: a NORMAL stock is a fixed-amount coupon.
  const fixed = body.coupon_use_rule.fixed_normal_coupon;
  if (!fixed) fail("coupon_use_rule.fixed_normal_coupon", "is required for stock_type NORMAL");
  const rule = body.stock_use_rule;
  // R6: the budget is exactly amount × count ("批次预算等于批次面额乘以发券数").
  if (rule.max_amount !== fixed.coupon_amount * rule.max_coupons) {
    fail(
      "stock_use_rule.max_amount",
      `must equal coupon_amount × max_coupons = ${fixed.coupon_amount * rule.max_coupons}`,
    );
  }
  // R7: a daily budget within the total.
  if (rule.max_amount_by_day !== undefined && rule.max_amount_by_day > rule.max_amount)
    fail("stock_use_rule.max_amount_by_day", "must not exceed max_amount");
  // R8: a user cannot get more coupons than exist.
  if (rule.max_coupons_per_user > rule.max_coupons)
    fail("stock_use_rule.max_coupons_per_user", "must not exceed max_coupons");
  // R10: the threshold is above the face value.
  if (fixed.transaction_minimum <= fixed.coupon_amount)
    fail("coupon_use_rule.fixed_normal_coupon.transaction_minimum", "must be greater than coupon_amount");
  const pattern = body.pattern_info;
  if (pattern?.jump_target === "MINI_PROGRAM") {
    if (!pattern.mini_program_appid)
      fail("pattern_info.mini_program_appid", "is required when jumping to a mini program");
    if (!pattern.mini_program_path)
      fail("pattern_info.mini_program_path", "is required when jumping to a mini program");
  }
}

/** Checks an E6 call: the openid path parameter, R13, S8 (coupon_value/coupon_minimum are not open). */
export function validateSendCoupon(openid: string, body: SendCouponRequest & { stock_creator_mchid: string }): void {
  validatePathParam("openid", openid);
  for (const field of ["coupon_value", "coupon_minimum"]) {
    if (field in body) fail(field, "is not open yet: WeChat refuses it (指定面额发券暂未开放)");
  }
  parse(sendCouponSchema, body);
}

/** Path parameters are non-empty and of a sane charset (they are also percent-encoded when the URL is built). */
export function validatePathParam(name: keyof typeof PATH_PARAMS, value: string): void {
  if (typeof value !== "string" || value === "") fail(name, "is required");
  if (!PATH_PARAMS[name].test(value)) fail(name, "has characters or a length WeChat does not use");
}

/** A merchant id given outside a body (path defaults, query). */
export function validateMchid(field: string, value: string): void {
  if (typeof value !== "string" || !/^[0-9]{1,20}$/.test(value)) fail(field, "must be a merchant id (1–20 digits)");
}

export function validateListStocksQuery(query: ListStocksQuery & { stock_creator_mchid: string }): void {
  parse(listStocksSchema, query);
}

export function validateAvailableMerchantsQuery(query: PageQuery & { stock_creator_mchid: string }): void {
  parse(merchantsPageSchema, query);
}

export function validateAvailableItemsQuery(query: PageQuery & { stock_creator_mchid: string }): void {
  parse(itemsPageSchema, query);
}

export function validateCouponDetailQuery(query: { appid: string }): void {
  parse(couponDetailSchema, query);
}

export function validateUserCouponsQuery(query: ListUserCouponsQuery): void {
  parse(userCouponsSchema, query);
  // "任意选填一个": WeChat needs to know from whose side the coupons are listed.
  if (!query.creator_mchid && !query.sender_mchid && !query.available_mchid)
    fail("creator_mchid", "one of creator_mchid, sender_mchid or available_mchid is required");
}

export function validateSetCallback(body: SetCallbackRequest & { mchid: string }): void {
  parse(setCallbackSchema, body);
}

export function validateCallbackQuery(query: { mchid: string }): void {
  parse(callbackQuerySchema, query);
}

const IMAGE_TYPES: Record<string, { contentType: string; magic: (b: Uint8Array) => boolean }> = {
  jpg: { contentType: "image/jpeg", magic: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  png: { contentType: "image/png", magic: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  bmp: { contentType: "image/bmp", magic: (b) => b[0] === 0x42 && b[1] === 0x4d },
};

/** E17: JPG/BMP/PNG named .jpg/.bmp/.png, 1 byte … 2 MB, bytes matching the extension. Returns the content type. */
export function validateImageUpload(request: ImageUploadRequest): string {
  const { filename, bytes } = request;
  if (typeof filename !== "string" || filename === "") fail("filename", "is required");
  if (filename.length > 128 || /["\r\n\\/]/.test(filename)) fail("filename", "must be a plain file name");
  checkCharset(filename, ["filename"]);
  const extension = /\.([A-Za-z]+)$/.exec(filename)?.[1]?.toLowerCase() ?? "";
  const type = IMAGE_TYPES[extension];
  if (!type) fail("filename", "must end in .jpg, .bmp or .png");
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) fail("file", "is empty");
  if (bytes.length > MAX_IMAGE_BYTES) fail("file", "is larger than 2 MB");
  if (!type.magic(bytes)) fail("file", `is not a ${extension.toUpperCase()} image`);
  return type.contentType;
}
