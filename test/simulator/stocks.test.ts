import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, runningStock, startHarness, stockBody } from "./helpers/setup.js";

const CREATE = "/v3/marketing/favor/coupon-stocks";
const iso = (ms: number) => new Date(ms).toISOString();

describe("stocks (E1–E5, E7, E8, E10, E11)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ endpointRateLimits: false });
  });
  afterAll(() => h.sim.stop());

  const create = (overrides: Record<string, unknown> = {}) => h.client.post(CREATE, stockBody(h.mchid, overrides));
  const action = (stockId: string, kind: string, creator = h.mchid) =>
    h.client.post(`/v3/marketing/favor/stocks/${stockId}/${kind}`, { stock_creator_mchid: creator });

  it("creates an unactivated stock and returns its id and create_time", async () => {
    const res = await create();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      stock_id: expect.stringMatching(/^\d+$/),
      create_time: expect.stringMatching(/\+08:00$/),
    });
    const detail = await h.client.get(`/v3/marketing/favor/stocks/${res.json.stock_id}?stock_creator_mchid=${h.mchid}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      stock_id: res.json.stock_id,
      stock_creator_mchid: h.mchid,
      status: "unactivated",
      distributed_coupons: 0,
      no_cash: false,
      stock_type: "NORMAL",
      singleitem: false,
      description: "微信支付营销",
      stock_use_rule: {
        max_coupons: 10,
        max_amount: 1000,
        max_coupons_per_user: 3,
        coupon_type: "NORMAL",
        fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
      },
    });
    expect(JSON.stringify(detail.json)).not.toContain("null");
  });

  it("walks the life cycle unactivated → running ↔ paused and refuses wrong-state moves", async () => {
    const { stock_id } = (await create()).json;
    expect((await action(stock_id, "pause")).json).toEqual({
      code: "INVALID_REQUEST",
      message: "非法的批次状态",
      detail: {
        field: "stock_id",
        value: stock_id,
        issue: "stock status is unactivated; pause needs running",
        location: "uri_template",
      },
    });
    const started = await action(stock_id, "start");
    expect(started.json).toEqual({ stock_id, start_time: expect.stringMatching(/\+08:00$/) });
    expect((await action(stock_id, "start")).status).toBe(400);
    expect((await action(stock_id, "stop")).status).toBe(400);
    expect((await action(stock_id, "pause")).json).toEqual({ stock_id, pause_time: expect.any(String) });
    expect((await action(stock_id, "restart")).json).toEqual({ stock_id, restart_time: expect.any(String) });
    expect((await action(stock_id, "restart")).status).toBe(400);
  });

  it("stops only an unactivated stock (status stoped)", async () => {
    const { stock_id } = (await create()).json;
    expect((await action(stock_id, "stop")).json).toEqual({ stock_id, stop_time: expect.any(String) });
    const detail = await h.client.get(`/v3/marketing/favor/stocks/${stock_id}?stock_creator_mchid=${h.mchid}`);
    expect(detail.json.status).toBe("stoped");
    expect((await action(stock_id, "start")).status).toBe(400);
  });

  it("answers 404 RESOURCE_NOT_EXISTS for an unknown stock and uri_template PARAM_ERROR for an empty id", async () => {
    const missing = await action("99999999", "start");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ code: "RESOURCE_NOT_EXISTS", message: "批次不存在" });
    const empty = await action("", "start");
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({
      code: "PARAM_ERROR",
      message: "输入源“/uri_template/stock_id”映射到字段“批次id”必填性规则校验失败,此字段为必填项",
      detail: { location: "uri_template", value: "" },
    });
  });

  it("lists stocks by page with filters, limit ≤ 10", async () => {
    const base = `/v3/marketing/favor/stocks?stock_creator_mchid=${h.mchid}`;
    const all = await h.client.get(`${base}&offset=0&limit=10`);
    expect(all.status).toBe(200);
    expect(all.json.total_count).toBeGreaterThanOrEqual(3);
    expect(all.json).toMatchObject({ offset: 0, limit: 10 });
    const page = await h.client.get(`${base}&offset=1&limit=1`);
    expect(page.json.data).toHaveLength(1);
    expect(page.json.data[0].stock_id).toBe(all.json.data[1].stock_id);
    const stoped = await h.client.get(`${base}&offset=0&limit=10&status=stoped`);
    expect(stoped.json.data.every((s: { status: string }) => s.status === "stoped")).toBe(true);
    const future = encodeURIComponent(iso(Date.now() + 3_600_000));
    expect((await h.client.get(`${base}&offset=0&limit=10&create_start_time=${future}`)).json.total_count).toBe(0);
    expect((await h.client.get(`${base}&offset=0&limit=11`)).json.message).toBe("页大小超过阈值");
    expect((await h.client.get(`${base}&offset=0&limit=5&create_start_time=yesterday`)).json.message).toBe(
      "输入时间格式错误",
    );
    expect((await h.client.get(`${base}&offset=0&limit=5&status=bogus`)).json.message).toBe("非法的批次状态");
    expect((await h.client.get(`${base}&limit=5`)).status).toBe(400);
    expect((await h.client.get(`${base}&offset=0&limit=5&extra=1`)).json.message).toBe(
      "请求中含有未在API文档中定义的参数",
    );
  });

  it("refuses another merchant's stocks with 403 REQUEST_BLOCKED", async () => {
    const res = await h.client.get("/v3/marketing/favor/stocks?offset=0&limit=10&stock_creator_mchid=1900000002");
    expect(res.status).toBe(403);
    expect(res.json.code).toBe("REQUEST_BLOCKED");
  });

  it("lists available merchants and items", async () => {
    const { stock_id } = (
      await create({
        coupon_use_rule: {
          fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
          available_merchants: [h.mchid, "1900000009"],
          available_items: ["SKU1", "SKU2", "SKU3"],
        },
      })
    ).json;
    const q = `?offset=0&limit=2&stock_creator_mchid=${h.mchid}`;
    const merchants = await h.client.get(`/v3/marketing/favor/stocks/${stock_id}/merchants${q}`);
    expect(merchants.json).toEqual({ total_count: 2, data: [h.mchid, "1900000009"], offset: 0, limit: 2, stock_id });
    const items = await h.client.get(`/v3/marketing/favor/stocks/${stock_id}/items${q}`);
    expect(items.json).toEqual({ total_count: 3, data: ["SKU1", "SKU2"], offset: 0, limit: 2, stock_id });
    // offset is a page index: page 1 of 2 per page starts at the third item
    const page1 = await h.client.get(
      `/v3/marketing/favor/stocks/${stock_id}/items?offset=1&limit=2&stock_creator_mchid=${h.mchid}`,
    );
    expect(page1.json).toEqual({ total_count: 3, data: ["SKU3"], offset: 1, limit: 2, stock_id });
    const detail = await h.client.get(`/v3/marketing/favor/stocks/${stock_id}?stock_creator_mchid=${h.mchid}`);
    expect(detail.json.singleitem).toBe(true);
    expect(
      (
        await h.client.get(
          `/v3/marketing/favor/stocks/${stock_id}/merchants?offset=0&limit=51&stock_creator_mchid=${h.mchid}`,
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await h.client.get(
          `/v3/marketing/favor/stocks/${stock_id}/items?offset=0&limit=101&stock_creator_mchid=${h.mchid}`,
        )
      ).status,
    ).toBe(400);
  });

  it("replays create-stock: same body → same stock_id; other body → RESOURCE_ALREADY_EXISTS", async () => {
    const body = stockBody(h.mchid);
    const first = await h.client.post(CREATE, body);
    const again = await h.client.post(CREATE, { ...body });
    expect(again.json.stock_id).toBe(first.json.stock_id);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect((await h.client.post(CREATE, reordered)).json.stock_id).toBe(first.json.stock_id);
    const other = await h.client.post(CREATE, { ...body, stock_name: "另一个批次" });
    expect(other.status).toBe(400);
    expect(other.json).toEqual({
      code: "RESOURCE_ALREADY_EXISTS",
      message: "创建请求重入，但本次请求与上次请求信息不一致",
    });
  });
});

describe("create-stock rules R1–R15", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ endpointRateLimits: false });
  });
  afterAll(() => h.sim.stop());

  const now = Date.now();
  const useRule = (patch: Record<string, unknown>) => ({
    stock_use_rule: {
      max_coupons: 10,
      max_amount: 1000,
      max_coupons_per_user: 3,
      natural_person_limit: false,
      prevent_api_abuse: false,
      ...patch,
    },
  });
  const couponRule = (patch: Record<string, unknown>, fixed = { coupon_amount: 100, transaction_minimum: 200 }) => ({
    coupon_use_rule: { fixed_normal_coupon: fixed, ...patch },
  });

  const cases: [string, Record<string, unknown>, number, string, string?][] = [
    ["R1 name longer than 9 Chinese characters", { stock_name: "一二三四五六七八九十" }, 400, "PARAM_ERROR"],
    ["R1 name longer than 20 letters", { stock_name: "abcdefghijklmnopqrstu" }, 400, "PARAM_ERROR"],
    ["R1 name with a forbidden character", { stock_name: "spring_sale" }, 400, "PARAM_ERROR"],
    ["R2 comment longer than 60", { comment: "x".repeat(61) }, 400, "PARAM_ERROR"],
    ["R2 a 4-byte UTF-8 character", { comment: "sale 🎉" }, 400, "PARAM_ERROR"],
    [
      "R3 belong_merchant of another merchant",
      { belong_merchant: "1900000002" },
      400,
      "INVALID_REQUEST",
      "非法的商户号",
    ],
    [
      "R4 begin in the past",
      { available_begin_time: iso(now - 3_600_000) },
      403,
      "REQUEST_BLOCKED",
      "活动未开始或已结束",
    ],
    [
      "R4 begin more than 365 days ahead",
      { available_begin_time: iso(now + 366 * 86_400_000), available_end_time: iso(now + 367 * 86_400_000) },
      400,
      "PARAM_ERROR",
    ],
    ["R4 end before begin", { available_end_time: iso(now - 1000) }, 400, "PARAM_ERROR"],
    ["R4 window longer than 90 days", { available_end_time: iso(now + 91 * 86_400_000) }, 400, "PARAM_ERROR"],
    ["R4 malformed time", { available_end_time: "2030-01-01 00:00:00" }, 400, "PARAM_ERROR", "输入时间格式错误"],
    ["R5 fewer than 5 coupons", useRule({ max_coupons: 4, max_amount: 400 }), 400, "PARAM_ERROR"],
    [
      "R5 more than 10,000,000 coupons",
      useRule({ max_coupons: 10_000_001, max_amount: 1_000_000_100 }),
      400,
      "PARAM_ERROR",
    ],
    ["R6 budget ≠ amount × count", useRule({ max_amount: 999 }), 400, "PARAM_ERROR", "批次预算等于批次面额乘以发券数"],
    ["R7 daily budget above the budget", useRule({ max_amount_by_day: 1001 }), 400, "PARAM_ERROR"],
    ["R7 daily budget 0", useRule({ max_amount_by_day: 0 }), 400, "PARAM_ERROR"],
    [
      "R8 more than 60 per user",
      useRule({ max_coupons: 100, max_amount: 10_000, max_coupons_per_user: 61 }),
      400,
      "PARAM_ERROR",
    ],
    ["R8 per user above max_coupons", useRule({ max_coupons_per_user: 11 }), 400, "PARAM_ERROR"],
    ["R8 zero per user", useRule({ max_coupons_per_user: 0 }), 400, "PARAM_ERROR"],
    [
      "R9 amount of 1 fen",
      { ...couponRule({}, { coupon_amount: 1, transaction_minimum: 200 }), ...useRule({ max_amount: 10 }) },
      400,
      "PARAM_ERROR",
    ],
    [
      "R9 amount above 1000 yuan",
      {
        ...couponRule({}, { coupon_amount: 100_001, transaction_minimum: 200_000 }),
        ...useRule({ max_amount: 1_000_010 }),
      },
      400,
      "PARAM_ERROR",
    ],
    [
      "R10 minimum not above the amount",
      couponRule({}, { coupon_amount: 100, transaction_minimum: 100 }),
      400,
      "PARAM_ERROR",
    ],
    [
      "R11 NORMAL without fixed_normal_coupon",
      { coupon_use_rule: { available_merchants: ["1900000001"] } },
      400,
      "PARAM_ERROR",
    ],
    ["R11 a stock type other than NORMAL", { stock_type: "DISCOUNT" }, 400, "PARAM_ERROR"],
    ["R12 51 goods tags", couponRule({ goods_tag: Array.from({ length: 51 }, (_, i) => `t${i}`) }), 400, "PARAM_ERROR"],
    ["R12 empty available_items", couponRule({ available_items: [] }), 400, "PARAM_ERROR"],
    [
      "R12 51 available merchants",
      couponRule({ available_merchants: Array.from({ length: 51 }, (_, i) => `19000${i}`) }),
      400,
      "PARAM_ERROR",
    ],
    ["R12 two limit_pay values", couponRule({ limit_pay: ["CFT", "ICBC_CREDIT"] }), 400, "PARAM_ERROR"],
    ["R12 a 5-digit card bin", couponRule({ limit_card: { name: "工商", bin: ["12345"] } }), 400, "PARAM_ERROR"],
    [
      "R12 11 card bins",
      couponRule({ limit_card: { name: "工商", bin: Array.from({ length: 11 }, () => "622202") } }),
      400,
      "PARAM_ERROR",
    ],
    [
      "limit_card without name (GO CardLimitation)",
      couponRule({ limit_card: { bin: ["622202"] } }),
      400,
      "PARAM_ERROR",
    ],
    [
      "fix_available_time without begin_time",
      couponRule({ coupon_available_time: { fix_available_time: { end_time: 3600 } } }),
      400,
      "PARAM_ERROR",
    ],
    [
      "fix_available_time end_time 86400",
      couponRule({ coupon_available_time: { fix_available_time: { begin_time: 0, end_time: 86_400 } } }),
      400,
      "PARAM_ERROR",
    ],
    [
      "background_color in mixed case",
      { pattern_info: { description: "x", background_color: "Color020" } },
      400,
      "PARAM_ERROR",
    ],
    ["R13 out_request_no with a space", { out_request_no: "bad no" }, 400, "PARAM_ERROR"],
    ["R13 out_request_no of 129 characters", { out_request_no: "a".repeat(129) }, 400, "PARAM_ERROR"],
    [
      "R14 natural_person_limit missing",
      { stock_use_rule: { max_coupons: 10, max_amount: 1000, max_coupons_per_user: 1, prevent_api_abuse: false } },
      400,
      "PARAM_ERROR",
    ],
    ["R14 prevent_api_abuse not a boolean", useRule({ prevent_api_abuse: "no" }), 400, "PARAM_ERROR"],
    ["R15 an unknown top-level field", { color: "red" }, 400, "PARAM_ERROR", "请求中含有未在API文档中定义的参数"],
    ["R15 an unknown nested field", useRule({ bonus: 1 }), 400, "PARAM_ERROR", "请求中含有未在API文档中定义的参数"],
    [
      "pattern_info image not from the upload API",
      { pattern_info: { description: "x", coupon_image: "https://example.com/a.png" } },
      400,
      "PARAM_ERROR",
    ],
    [
      "pattern_info MINI_PROGRAM without appid",
      { pattern_info: { description: "x", jump_target: "MINI_PROGRAM" } },
      400,
      "PARAM_ERROR",
    ],
    [
      "pattern_info bad background colour",
      { pattern_info: { description: "x", background_color: "PINK" } },
      400,
      "PARAM_ERROR",
    ],
    [
      "a required field missing",
      { stock_name: undefined },
      400,
      "PARAM_ERROR",
      "输入源“/body/stock_name”映射到字段“批次名称”必填性规则校验失败,此字段为必填项",
    ],
    ["a null value", { comment: null }, 400, "PARAM_ERROR"],
  ];

  it.each(cases)("refuses %s", async (_name, overrides, status, code, message) => {
    const body = stockBody(h.mchid, overrides);
    const res = await h.client.post(CREATE, JSON.parse(JSON.stringify(body)));
    expect(res.status).toBe(status);
    expect(res.json.code).toBe(code);
    if (message) expect(res.json.message).toBe(message);
  });

  it("accepts the boundaries: 9 Chinese characters, 60 per user, 90 days, begin up to 60 s in the past", async () => {
    const body = stockBody(h.mchid, {
      stock_name: "一二三四五六七八九",
      available_begin_time: iso(now - 30_000),
      available_end_time: iso(now - 30_000 + 90 * 86_400_000),
      ...useRule({ max_coupons: 60, max_amount: 6000, max_coupons_per_user: 60, max_amount_by_day: 6000 }),
      ...couponRule({
        goods_tag: ["tag_1"],
        trade_type: ["MICROAPP"],
        limit_pay: ["CFT"],
        limit_card: { name: "工商银行", bin: ["622202", "123456789"] },
        combine_use: false,
        coupon_available_time: {
          fix_available_time: { available_week_day: [0, 6], begin_time: 0, end_time: 86_399 },
          available_time_after_receive: 60,
        },
      }),
      ext_info: '{"k":"v"}',
    });
    const res = await h.client.post(CREATE, body);
    expect(res.status, res.text).toBe(200);
  });

  it("enforces 60 create calls per minute per merchant when endpoint limits are on", async () => {
    const limited = await startHarness();
    try {
      let last = 0;
      for (let i = 0; i < 61; i++) last = (await limited.client.post(CREATE, { bad: true })).status;
      expect(last).toBe(429);
    } finally {
      await limited.sim.stop();
    }
  });
});

it("runningStock helper yields a running stock", async () => {
  const h = await startHarness();
  try {
    const id = await runningStock(h);
    const detail = await h.client.get(`/v3/marketing/favor/stocks/${id}?stock_creator_mchid=${h.mchid}`);
    expect(detail.json.status).toBe("running");
    expect(detail.json.start_time).toMatch(/\+08:00$/);
  } finally {
    await h.sim.stop();
  }
});
