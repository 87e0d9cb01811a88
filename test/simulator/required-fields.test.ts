import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coupon as couponSchema, stock as stockSchema } from "#shared/edges/http/response-schemas.js";
import { missingRequiredFields, REQUIRED_FIELDS } from "../fixtures/wechat-required-fields.js";
import { control } from "./helpers/client.js";
import { imageUpload, PNG } from "./helpers/multipart.js";
import { startReceiver } from "./helpers/receiver.js";
import { APPID, type Harness, sendBody, sendUrl, startHarness, stockBody } from "./helpers/setup.js";
import { decryptResource } from "./helpers/signer.js";

const FAVOR = "/v3/marketing/favor";

/**
 * Every answer of the simulator against the required fields of WeChat's official models
 * (test/fixtures/wechat-required-fields.ts), with the sparsest stock the create rules allow: no `pattern_info`, no
 * `max_amount_by_day`, no `comment`.
 */
describe("answers carry every field WeChat's official models require", () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const answers = new Map<string, { model: keyof typeof REQUIRED_FIELDS; json: unknown }>();

  beforeAll(async () => {
    h = await startHarness({ notifyRetryIntervalMs: 50 });
    receiver = await startReceiver();
    const record = async (
      label: string,
      model: keyof typeof REQUIRED_FIELDS,
      call: Promise<{ status: number; json: unknown; text: string }>,
    ) => {
      const res = await call;
      if (res.status !== 200) throw new Error(`${label}: ${res.status} ${res.text}`);
      answers.set(label, { model, json: res.json });
      return res.json as Record<string, unknown>;
    };
    const { pattern_info: _pattern, comment: _comment, ...sparse } = stockBody(h.mchid, {}, h.client.now());
    const created = await record(
      "E1 create",
      "CreateCouponStockResponse",
      h.client.post(`${FAVOR}/coupon-stocks`, sparse),
    );
    const stockId = created["stock_id"] as string;
    const creator = { stock_creator_mchid: h.mchid };
    await record("E2 start", "StartStockResponse", h.client.post(`${FAVOR}/stocks/${stockId}/start`, creator));
    await record("E3 pause", "PauseStockResponse", h.client.post(`${FAVOR}/stocks/${stockId}/pause`, creator));
    await record("E4 restart", "RestartStockResponse", h.client.post(`${FAVOR}/stocks/${stockId}/restart`, creator));
    const other = await h.client.post(`${FAVOR}/coupon-stocks`, stockBody(h.mchid, {}, h.client.now()));
    await record("E5 stop", "StopStockResponse", h.client.post(`${FAVOR}/stocks/${other.json.stock_id}/stop`, creator));
    const sent = await record(
      "E6 send",
      "SendCouponResponse",
      h.client.post(sendUrl("oRequired"), sendBody(h, stockId)),
    );
    const couponId = sent["coupon_id"] as string;
    await record(
      "E7 list",
      "StockCollection",
      h.client.get(`${FAVOR}/stocks?offset=0&limit=10&stock_creator_mchid=${h.mchid}`),
    );
    await record("E8 detail", "Stock", h.client.get(`${FAVOR}/stocks/${stockId}?stock_creator_mchid=${h.mchid}`));
    await record("E9 coupon", "Coupon", h.client.get(`${FAVOR}/users/oRequired/coupons/${couponId}?appid=${APPID}`));
    const page = `offset=0&limit=10&stock_creator_mchid=${h.mchid}`;
    await record(
      "E10 merchants",
      "AvailableMerchantCollection",
      h.client.get(`${FAVOR}/stocks/${stockId}/merchants?${page}`),
    );
    await record(
      "E11 items",
      "AvailableSingleitemCollection",
      h.client.get(`${FAVOR}/stocks/${stockId}/items?${page}`),
    );
    await record(
      "E12 user coupons",
      "CouponCollection",
      h.client.get(`${FAVOR}/users/oRequired/coupons?appid=${APPID}&creator_mchid=${h.mchid}`),
    );
    await record(
      "E15 set callback",
      "SetCallbackResponse",
      h.client.post(`${FAVOR}/callbacks`, { mchid: h.mchid, notify_url: receiver.url }),
    );
    await record("E16 get callback", "Callback", h.client.get(`${FAVOR}/callbacks?mchid=${h.mchid}`));
    const form = imageUpload("logo.png", PNG);
    await record(
      "E17 image upload",
      "MediaImageResponse",
      h.client.request("POST", `${FAVOR}/media/image-upload`, undefined, {
        raw: form.body,
        signedBody: form.meta,
        headers: { "Content-Type": form.contentType },
      }),
    );
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    await control(h.sim.url, "POST", `/coupons/${couponId}/refund`, {});
    await receiver.waitFor(1);
    const envelope = JSON.parse(receiver.received[0]!.body) as { resource: Record<string, string> };
    answers.set("N1 envelope", { model: "CouponUseNotification", json: envelope });
    answers.set("N1 resource", {
      model: "CouponUseResource",
      json: JSON.parse(decryptResource(h.sim.config.apiv3_key, envelope.resource as never)),
    });
    const detail = answers.get("E8 detail")!.json as { available_end_time: string };
    // the files exist from 10:00 (Beijing) the day after the stock ends: a week later is past that
    const end = Date.parse(detail.available_end_time);
    await control(h.sim.url, "POST", "/clock", { advance_ms: end - h.client.now() + 7 * 86_400_000 });
    await record("E13 use-flow", "UseFlowResponse", h.client.get(`${FAVOR}/stocks/${stockId}/use-flow`));
    await record("E14 refund-flow", "RefundFlowResponse", h.client.get(`${FAVOR}/stocks/${stockId}/refund-flow`));
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.sim.stop();
  });

  it("covers every endpoint E1–E17 and the notification", () => {
    expect([...answers.keys()]).toEqual([
      "E1 create",
      "E2 start",
      "E3 pause",
      "E4 restart",
      "E5 stop",
      "E6 send",
      "E7 list",
      "E8 detail",
      "E9 coupon",
      "E10 merchants",
      "E11 items",
      "E12 user coupons",
      "E15 set callback",
      "E16 get callback",
      "E17 image upload",
      "N1 envelope",
      "N1 resource",
      "E13 use-flow",
      "E14 refund-flow",
    ]);
  });

  it("misses no required field in any answer, nested models included", () => {
    const missing = [...answers].flatMap(([label, { model, json }]) =>
      missingRequiredFields(model, json).map((path) => `${label} (${model}): ${path}`),
    );
    expect(missing).toEqual([]);
  });

  it("answers description and max_amount_by_day for a stock created without pattern_info or a daily cap", () => {
    const stock = answers.get("E8 detail")!.json as Record<string, unknown>;
    expect(stock["description"]).toBe(stock["stock_name"]);
    expect(stock["stock_use_rule"]).toMatchObject({ max_amount_by_day: 1000, max_amount: 1000 });
    expect(
      ((answers.get("E7 list")!.json as { data: unknown[] }).data[0] as Record<string, unknown>)["description"],
    ).toBe(stock["stock_name"]);
  });

  it("the service's answer schemas require the same Stock and Coupon fields", () => {
    for (const [model, schema, label] of [
      ["Stock", stockSchema, "E8 detail"],
      ["Coupon", couponSchema, "E9 coupon"],
    ] as const) {
      const sample = answers.get(label)!.json as Record<string, unknown>;
      expect(schema.safeParse(sample).success).toBe(true);
      for (const field of REQUIRED_FIELDS[model].required) {
        const { [field]: _dropped, ...without } = sample;
        expect(schema.safeParse(without).success, `${model} without ${field}`).toBe(false);
      }
    }
    const stock = answers.get("E8 detail")!.json as { stock_use_rule: Record<string, unknown> };
    for (const field of REQUIRED_FIELDS.StockUseRule.required) {
      const { [field]: _dropped, ...rule } = stock.stock_use_rule;
      expect(stockSchema.safeParse({ ...stock, stock_use_rule: rule }).success, `stock_use_rule without ${field}`).toBe(
        false,
      );
    }
  });
});

describe("missingRequiredFields (the check itself)", () => {
  it("names missing and null fields, nested and in lists", () => {
    const stock = {
      stock_id: "1",
      stock_creator_mchid: "2",
      stock_name: "n",
      status: "running",
      create_time: "t",
      available_begin_time: "t",
      available_end_time: "t",
      distributed_coupons: 0,
      no_cash: false,
      singleitem: false,
      stock_type: "NORMAL",
      description: null,
      stock_use_rule: { max_coupons: 1, max_amount: 1, max_coupons_per_user: 1 },
    };
    expect(missingRequiredFields("Stock", stock)).toEqual(["description", "stock_use_rule.max_amount_by_day"]);
    expect(missingRequiredFields("StockCollection", { total_count: 1, limit: 1, offset: 0, data: [stock] })).toEqual([
      "data[0].description",
      "data[0].stock_use_rule.max_amount_by_day",
    ]);
    expect(missingRequiredFields("CouponCollection", { total_count: 0, limit: 20 })).toEqual(["offset"]);
  });
});
