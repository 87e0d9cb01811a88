import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WechatPayValidationError } from "#shared/wechatpay/errors.js";
import type { CreateStockRequest } from "#shared/wechatpay/favor/types.js";
import {
  validateAvailableItemsQuery,
  validateAvailableMerchantsQuery,
  validateCreateStock,
  validateListStocksQuery,
  validateSendCoupon,
  validateSetCallback,
  validateUserCouponsQuery,
} from "#shared/wechatpay/favor/validation.js";

const MCHID = "8956000";
const NOW = Date.parse("2024-05-21T10:00:05+08:00");
const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();

function validStock(): CreateStockRequest {
  return {
    stock_name: "新客立减",
    comment: "仅创建者可见",
    belong_merchant: MCHID,
    available_begin_time: "2024-05-22T00:00:00+08:00",
    available_end_time: "2024-06-20T23:59:59+08:00",
    stock_use_rule: {
      max_coupons: 100,
      max_amount: 10_000,
      max_amount_by_day: 5_000,
      max_coupons_per_user: 1,
      natural_person_limit: false,
      prevent_api_abuse: false,
    },
    pattern_info: { description: "微信支付营销", merchant_name: "微信支付", background_color: "COLOR020" },
    coupon_use_rule: {
      fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
      goods_tag: ["tag_1"],
      available_merchants: [MCHID],
      trade_type: ["MICROAPP"],
      limit_card: { name: "工商银行", bin: ["622202"] },
    },
    no_cash: false,
    stock_type: "NORMAL",
    out_request_no: "8956000-20240521-0001",
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the tests reach into arbitrary paths of request bodies to break them
type Body = Record<string, any>;
const validateStock = (body: Body) => validateCreateStock(body as CreateStockRequest, { mchid: MCHID, now: NOW });

function fieldOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof WechatPayValidationError) return error.field;
    throw error;
  }
}

describe("create-stock validation (docs/wechatpay-cash-coupons.md#validation-rules)", () => {
  it("accepts a valid stock", () => {
    expect(fieldOf(() => validateStock(validStock()))).toBeUndefined();
  });

  const cases: [string, (b: Body) => void, string][] = [
    ["R1 empty name", (b) => (b.stock_name = ""), "stock_name"],
    ["R1 ten Chinese characters", (b) => (b.stock_name = "一二三四五六七八九十"), "stock_name"],
    ["R1 21 letters", (b) => (b.stock_name = "a".repeat(21)), "stock_name"],
    ["R1 9 Chinese + 3 letters (weighted 21)", (b) => (b.stock_name = "一二三四五六七八九abc"), "stock_name"],
    ["R1 underscore", (b) => (b.stock_name = "new_user"), "stock_name"],
    ["R1 comma", (b) => (b.stock_name = "a,b"), "stock_name"],
    ["R1 semicolon", (b) => (b.stock_name = "a;b"), "stock_name"],
    ["R1 pipe", (b) => (b.stock_name = "a|b"), "stock_name"],
    ["R2 comment of 61 characters", (b) => (b.comment = "备".repeat(61)), "comment"],
    ["R2 emoji in a name", (b) => (b.stock_name = "立减🎉"), "stock_name"],
    ["R2 emoji deep inside", (b) => (b.pattern_info.description = "好😀"), "pattern_info.description"],
    ["R2 lone surrogate", (b) => (b.comment = "\uD800"), "comment"],
    ["R3 another merchant", (b) => (b.belong_merchant = "1234"), "belong_merchant"],
    ["R4 malformed time", (b) => (b.available_begin_time = "2024-05-22 00:00:00"), "available_begin_time"],
    ["R4 begin in the past", (b) => (b.available_begin_time = iso(NOW - 2 * 60_000)), "available_begin_time"],
    [
      "R4 begin after a year",
      (b) => {
        b.available_begin_time = iso(NOW + 366 * DAY);
        b.available_end_time = iso(NOW + 367 * DAY);
      },
      "available_begin_time",
    ],
    ["R4 end before begin", (b) => (b.available_end_time = "2024-05-21T23:59:59+08:00"), "available_end_time"],
    ["R4 end = begin", (b) => (b.available_end_time = b.available_begin_time), "available_end_time"],
    ["R4 window over 90 days", (b) => (b.available_end_time = "2024-08-21T00:00:00+08:00"), "available_end_time"],
    [
      "R5 4 coupons",
      (b) => {
        b.stock_use_rule.max_coupons = 4;
        b.stock_use_rule.max_amount = 400;
      },
      "stock_use_rule.max_coupons",
    ],
    ["R5 over 10 million", (b) => (b.stock_use_rule.max_coupons = 10_000_001), "stock_use_rule.max_coupons"],
    ["R5 not an integer", (b) => (b.stock_use_rule.max_coupons = 10.5), "stock_use_rule.max_coupons"],
    ["R6 budget ≠ amount × count", (b) => (b.stock_use_rule.max_amount = 9_999), "stock_use_rule.max_amount"],
    [
      "R6 budget over 1亿元",
      (b) => {
        b.stock_use_rule.max_coupons = 10_000_000;
        b.coupon_use_rule.fixed_normal_coupon.coupon_amount = 100_000;
        b.coupon_use_rule.fixed_normal_coupon.transaction_minimum = 100_001;
        b.stock_use_rule.max_amount = 1_000_000_000_000;
      },
      "stock_use_rule.max_amount",
    ],
    [
      "R7 daily budget over total",
      (b) => (b.stock_use_rule.max_amount_by_day = 10_001),
      "stock_use_rule.max_amount_by_day",
    ],
    ["R7 daily budget 0", (b) => (b.stock_use_rule.max_amount_by_day = 0), "stock_use_rule.max_amount_by_day"],
    ["R8 per user 0", (b) => (b.stock_use_rule.max_coupons_per_user = 0), "stock_use_rule.max_coupons_per_user"],
    ["R8 per user 61", (b) => (b.stock_use_rule.max_coupons_per_user = 61), "stock_use_rule.max_coupons_per_user"],
    [
      "R8 per user above max_coupons",
      (b) => {
        b.stock_use_rule.max_coupons = 5;
        b.stock_use_rule.max_amount = 500;
        b.stock_use_rule.max_amount_by_day = 500;
        b.stock_use_rule.max_coupons_per_user = 6;
      },
      "stock_use_rule.max_coupons_per_user",
    ],
    [
      "R9 amount 1 fen",
      (b) => (b.coupon_use_rule.fixed_normal_coupon.coupon_amount = 1),
      "coupon_use_rule.fixed_normal_coupon.coupon_amount",
    ],
    [
      "R9 amount over 1000元",
      (b) => (b.coupon_use_rule.fixed_normal_coupon.coupon_amount = 100_001),
      "coupon_use_rule.fixed_normal_coupon.coupon_amount",
    ],
    [
      "R10 threshold = amount",
      (b) => (b.coupon_use_rule.fixed_normal_coupon.transaction_minimum = 100),
      "coupon_use_rule.fixed_normal_coupon.transaction_minimum",
    ],
    ["R11 stock_type DISCOUNT", (b) => (b.stock_type = "DISCOUNT"), "stock_type"],
    [
      "R11 NORMAL without fixed_normal_coupon",
      (b) => delete b.coupon_use_rule.fixed_normal_coupon,
      "coupon_use_rule.fixed_normal_coupon",
    ],
    ["R12 51 goods tags", (b) => (b.coupon_use_rule.goods_tag = Array(51).fill("t")), "coupon_use_rule.goods_tag"],
    ["R12 goods tag charset", (b) => (b.coupon_use_rule.goods_tag = ["a-b"]), "coupon_use_rule.goods_tag[0]"],
    ["R12 no available items", (b) => (b.coupon_use_rule.available_items = []), "coupon_use_rule.available_items"],
    [
      "R12 item of 129 characters",
      (b) => (b.coupon_use_rule.available_items = ["x".repeat(129)]),
      "coupon_use_rule.available_items[0]",
    ],
    [
      "R12 51 merchants",
      (b) => (b.coupon_use_rule.available_merchants = Array(51).fill(MCHID)),
      "coupon_use_rule.available_merchants",
    ],
    ["R12 two limit_pay", (b) => (b.coupon_use_rule.limit_pay = ["CFT", "ICBC_CREDIT"]), "coupon_use_rule.limit_pay"],
    [
      "R12 11 card bins",
      (b) => (b.coupon_use_rule.limit_card.bin = Array(11).fill("622202")),
      "coupon_use_rule.limit_card.bin",
    ],
    ["R12 5-digit bin", (b) => (b.coupon_use_rule.limit_card.bin = ["62220"]), "coupon_use_rule.limit_card.bin[0]"],
    ["R12 unknown trade type", (b) => (b.coupon_use_rule.trade_type = ["POS"]), "coupon_use_rule.trade_type[0]"],
    ["R13 empty out_request_no", (b) => (b.out_request_no = ""), "out_request_no"],
    ["R13 129 characters", (b) => (b.out_request_no = "a".repeat(129)), "out_request_no"],
    ["R13 a space", (b) => (b.out_request_no = "a b"), "out_request_no"],
    ["R13 a Chinese character", (b) => (b.out_request_no = "单号1"), "out_request_no"],
    [
      "R14 natural_person_limit missing",
      (b) => delete b.stock_use_rule.natural_person_limit,
      "stock_use_rule.natural_person_limit",
    ],
    [
      "R14 prevent_api_abuse a string",
      (b) => (b.stock_use_rule.prevent_api_abuse = "true"),
      "stock_use_rule.prevent_api_abuse",
    ],
    ["required no_cash", (b) => delete b.no_cash, "no_cash"],
    ["unknown field", (b) => (b.stock_use_rule.budget = 1), "stock_use_rule.budget"],
    ["background colour", (b) => (b.pattern_info.background_color = "RED"), "pattern_info.background_color"],
    ["merchant name 13 Chinese", (b) => (b.pattern_info.merchant_name = "一".repeat(13)), "pattern_info.merchant_name"],
    [
      "mini program without appid",
      (b) => (b.pattern_info.jump_target = "MINI_PROGRAM"),
      "pattern_info.mini_program_appid",
    ],
    ["ext_info not JSON", (b) => (b.ext_info = "{"), "ext_info"],
    [
      "week day 7",
      (b) =>
        (b.coupon_use_rule.coupon_available_time = { fix_available_time: { available_week_day: [7], begin_time: 0 } }),
      "coupon_use_rule.coupon_available_time.fix_available_time.available_week_day[0]",
    ],
    [
      "fix_available_time without begin_time (GO FixedAvailableTime)",
      (b) => (b.coupon_use_rule.coupon_available_time = { fix_available_time: { end_time: 3600 } }),
      "coupon_use_rule.coupon_available_time.fix_available_time.begin_time",
    ],
    [
      "end_time 86400 (OAS: 1 … 86399)",
      (b) => (b.coupon_use_rule.coupon_available_time = { fix_available_time: { begin_time: 0, end_time: 86_400 } }),
      "coupon_use_rule.coupon_available_time.fix_available_time.end_time",
    ],
    [
      "limit_card without name (GO CardLimitation)",
      (b) => delete b.coupon_use_rule.limit_card.name,
      "coupon_use_rule.limit_card.name",
    ],
    [
      "background_color in mixed case",
      (b) => (b.pattern_info.background_color = "Color020"),
      "pattern_info.background_color",
    ],
  ];

  it.each(cases)("%s → names %s", (_name, mutate, field) => {
    const body = validStock() as Body;
    mutate(body);
    expect(fieldOf(() => validateStock(body))).toBe(field);
  });

  it("accepts limits at their edges", () => {
    const body = validStock() as Body;
    body.stock_name = "一二三四五六七八九ab";
    body.available_begin_time = iso(NOW - 30_000);
    body.available_end_time = iso(NOW - 30_000 + 90 * DAY);
    body.stock_use_rule = {
      ...body.stock_use_rule,
      max_coupons: 5,
      max_amount: 500,
      max_amount_by_day: 500,
      max_coupons_per_user: 5,
    };
    body.coupon_use_rule.goods_tag = Array(50).fill("t");
    expect(fieldOf(() => validateStock(body))).toBeUndefined();
    body.stock_name = "a".repeat(20);
    expect(fieldOf(() => validateStock(body))).toBeUndefined();
  });
});

describe("create-stock validation properties", () => {
  const han = fc.constantFrom(..."新客立减满送优惠券活动");
  const letter = fc.constantFrom(..."abcXYZ019 ");
  const validName = fc
    .tuple(fc.array(han, { maxLength: 9 }), fc.array(letter, { maxLength: 20 }))
    .filter(([h, l]) => h.length + l.length > 0 && h.length * 2 + l.length <= 20)
    .map(([h, l]) => [...h, ...l].join(""));
  const outRequestNo = fc.stringMatching(/^[A-Za-z0-9|_*-]{1,128}$/);
  const validRequest = fc
    .record({
      stock_name: validName,
      out_request_no: outRequestNo,
      beginOffset: fc.integer({ min: 0, max: 365 * DAY }),
      length: fc.integer({ min: 1000, max: 90 * DAY }),
      max_coupons: fc.integer({ min: 5, max: 100_000 }),
      coupon_amount: fc.integer({ min: 2, max: 100_000 }),
      extra: fc.integer({ min: 1, max: 100_000 }),
      per_user: fc.integer({ min: 1, max: 60 }),
      daily: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
      natural_person_limit: fc.boolean(),
      prevent_api_abuse: fc.boolean(),
      no_cash: fc.boolean(),
    })
    .map((r): CreateStockRequest => {
      const maxAmount = r.coupon_amount * r.max_coupons;
      return {
        stock_name: r.stock_name,
        belong_merchant: MCHID,
        available_begin_time: iso(NOW + r.beginOffset),
        available_end_time: iso(NOW + r.beginOffset + r.length),
        stock_use_rule: {
          max_coupons: r.max_coupons,
          max_amount: maxAmount,
          ...(r.daily === undefined ? {} : { max_amount_by_day: Math.max(1, Math.floor(r.daily * maxAmount)) }),
          max_coupons_per_user: Math.min(r.per_user, r.max_coupons),
          natural_person_limit: r.natural_person_limit,
          prevent_api_abuse: r.prevent_api_abuse,
        },
        coupon_use_rule: {
          fixed_normal_coupon: { coupon_amount: r.coupon_amount, transaction_minimum: r.coupon_amount + r.extra },
        },
        no_cash: r.no_cash,
        stock_type: "NORMAL",
        out_request_no: r.out_request_no,
      };
    });

  it("every generated valid request passes", () => {
    fc.assert(
      fc.property(validRequest, (body) => {
        expect(fieldOf(() => validateStock(body))).toBeUndefined();
      }),
    );
  });

  /** One constrained field each, made invalid whatever the rest of the request holds. */
  const mutations: [string, (b: Body, n: number) => void][] = [
    ["stock_name", (b, n) => (b.stock_name = n % 2 ? `${b.stock_name}${"_,;|"[n % 4]}` : "一".repeat(10 + (n % 5)))],
    ["comment", (b, n) => (b.comment = "x".repeat(61 + n))],
    ["belong_merchant", (b, n) => (b.belong_merchant = String(1_000_000_000 + n))],
    ["available_begin_time", (b, n) => (b.available_begin_time = iso(NOW - 61_000 - n * 1000))],
    ["available_end_time", (b, n) => (b.available_end_time = iso(Date.parse(b.available_begin_time) - n))],
    ["stock_use_rule.max_coupons", (b, n) => (b.stock_use_rule.max_coupons = n % 5)],
    ["stock_use_rule.max_amount", (b, n) => (b.stock_use_rule.max_amount += 1 + n)],
    [
      "stock_use_rule.max_amount_by_day",
      (b, n) => (b.stock_use_rule.max_amount_by_day = b.stock_use_rule.max_amount + 1 + n),
    ],
    ["stock_use_rule.max_coupons_per_user", (b, n) => (b.stock_use_rule.max_coupons_per_user = 61 + n)],
    [
      "coupon_use_rule.fixed_normal_coupon.coupon_amount",
      (b, n) => (b.coupon_use_rule.fixed_normal_coupon.coupon_amount = 100_001 + n),
    ],
    [
      "coupon_use_rule.fixed_normal_coupon.transaction_minimum",
      (b, n) =>
        (b.coupon_use_rule.fixed_normal_coupon.transaction_minimum =
          b.coupon_use_rule.fixed_normal_coupon.coupon_amount - (n % 2)),
    ],
    ["out_request_no", (b, n) => (b.out_request_no = n % 2 ? `${b.out_request_no} ` : "x".repeat(129 + n))],
    ["stock_use_rule.natural_person_limit", (b) => delete b.stock_use_rule.natural_person_limit],
    ["stock_type", (b) => (b.stock_type = "DISCOUNT")],
  ];

  it("mutating one constrained field fails naming exactly that field", () => {
    fc.assert(
      fc.property(validRequest, fc.constantFrom(...mutations), fc.nat({ max: 1000 }), (body, [field, mutate], n) => {
        const copy = structuredClone(body) as Body;
        mutate(copy, n);
        expect(fieldOf(() => validateStock(copy))).toBe(field);
      }),
    );
  });
});

describe("send-coupon, query and callback validation", () => {
  const send = {
    stock_id: "9856000",
    out_request_no: "89560002019101000121",
    appid: "wx233544546545989",
    stock_creator_mchid: MCHID,
  };
  it.each<[string, string, Body, string]>([
    ["empty openid", "", send, "openid"],
    ["openid with a slash", "o/../x", send, "openid"],
    ["S8 coupon_value", "o1", { ...send, coupon_value: 100 }, "coupon_value"],
    ["S8 coupon_minimum", "o1", { ...send, coupon_minimum: 100 }, "coupon_minimum"],
    ["R13 out_request_no", "o1", { ...send, out_request_no: "a#b" }, "out_request_no"],
    ["missing appid", "o1", { ...send, appid: undefined }, "appid"],
    ["bad creator", "o1", { ...send, stock_creator_mchid: "x" }, "stock_creator_mchid"],
    ["unknown field", "o1", { ...send, amount: 1 }, "amount"],
  ])("send: %s names %s", (_name, openid, body, field) => {
    expect(fieldOf(() => validateSendCoupon(openid, body as typeof send))).toBe(field);
  });

  it("accepts a valid send", () => {
    expect(fieldOf(() => validateSendCoupon("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", send))).toBeUndefined();
  });

  it.each<[string, () => void, string | undefined]>([
    [
      "E7 limit 10 is fine",
      () => validateListStocksQuery({ offset: 0, limit: 10, stock_creator_mchid: MCHID }),
      undefined,
    ],
    ["E7 limit 11", () => validateListStocksQuery({ offset: 0, limit: 11, stock_creator_mchid: MCHID }), "limit"],
    [
      "E7 negative offset",
      () => validateListStocksQuery({ offset: -1, limit: 1, stock_creator_mchid: MCHID }),
      "offset",
    ],
    [
      "E7 bad status",
      () => validateListStocksQuery({ offset: 0, limit: 1, stock_creator_mchid: MCHID, status: "stopped" as "stoped" }),
      "status",
    ],
    [
      "E10 offset 1001",
      () => validateAvailableMerchantsQuery({ offset: 1001, limit: 1, stock_creator_mchid: MCHID }),
      "offset",
    ],
    [
      "E10 limit 51",
      () => validateAvailableMerchantsQuery({ offset: 0, limit: 51, stock_creator_mchid: MCHID }),
      "limit",
    ],
    [
      "E11 offset 501",
      () => validateAvailableItemsQuery({ offset: 501, limit: 1, stock_creator_mchid: MCHID }),
      "offset",
    ],
    [
      "E11 limit 101",
      () => validateAvailableItemsQuery({ offset: 0, limit: 101, stock_creator_mchid: MCHID }),
      "limit",
    ],
    ["E12 no mchid side", () => validateUserCouponsQuery({ appid: "wx1" }), "creator_mchid"],
    [
      "E12 EXPIRED filter",
      () => validateUserCouponsQuery({ appid: "wx1", creator_mchid: MCHID, status: "EXPIRED" as "USED" }),
      "status",
    ],
    ["E15 http URL", () => validateSetCallback({ mchid: MCHID, notify_url: "http://example.com/n" }), "notify_url"],
    [
      "E15 query string",
      () => validateSetCallback({ mchid: MCHID, notify_url: "https://example.com/n?a=1" }),
      "notify_url",
    ],
    [
      "E15 loopback http is fine",
      () => validateSetCallback({ mchid: MCHID, notify_url: "http://127.0.0.1:3000/n" }),
      undefined,
    ],
  ])("%s", (_name, run, field) => {
    expect(fieldOf(run)).toBe(field);
  });
});
