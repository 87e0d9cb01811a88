import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { control, TestClient } from "./helpers/client.js";
import {
  APPID,
  type Harness,
  runningStock,
  sendBody,
  sendUrl,
  startHarness,
  stockBody,
  uniqueNo,
} from "./helpers/setup.js";

describe("send coupon (E6), coupon detail (E9), user coupons (E12)", () => {
  let h: Harness;
  let stockId: string;
  beforeAll(async () => {
    h = await startHarness({ endpointRateLimits: false });
    stockId = await runningStock(h);
  });
  afterAll(() => h.sim.stop());

  it("sends a coupon and shows it in detail and in the user's list", async () => {
    const res = await h.client.post(sendUrl("oUser_happy-1"), sendBody(h, stockId));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ coupon_id: expect.stringMatching(/^\d+$/) });
    const couponId = res.json.coupon_id;
    const detail = await h.client.get(`/v3/marketing/favor/users/oUser_happy-1/coupons/${couponId}?appid=${APPID}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      coupon_id: couponId,
      stock_id: stockId,
      stock_creator_mchid: h.mchid,
      status: "SENDED",
      coupon_type: "NORMAL",
      no_cash: false,
      singleitem: false,
      normal_coupon_information: { coupon_amount: 100, transaction_minimum: 200 },
    });
    expect(detail.json.consume_information).toBeUndefined();
    const list = await h.client.get(
      `/v3/marketing/favor/users/oUser_happy-1/coupons?appid=${APPID}&creator_mchid=${h.mchid}`,
    );
    expect(list.json).toMatchObject({ total_count: 1, offset: 0, limit: 20 });
    expect(list.json.data[0].coupon_id).toBe(couponId);
    const byStatus = await h.client.get(
      `/v3/marketing/favor/users/oUser_happy-1/coupons?appid=${APPID}&sender_mchid=${h.mchid}&status=USED`,
    );
    expect(byStatus.json.total_count).toBe(0);
    const available = await h.client.get(
      `/v3/marketing/favor/users/oUser_happy-1/coupons?appid=${APPID}&available_mchid=${h.mchid}`,
    );
    expect(available.json.total_count).toBe(1);
    const stock = await h.client.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${h.mchid}`);
    expect(stock.json.distributed_coupons).toBeGreaterThanOrEqual(1);
  });

  it("E12 reads offset as a page index (分页页码) and answers no coupon for business_type MULTIUSE", async () => {
    const stockId = await runningStock(h);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await h.client.post(sendUrl("oPaging"), sendBody(h, stockId))).json.coupon_id as string);
    const page = (offset: number, extra = "") =>
      h.client.get(
        `/v3/marketing/favor/users/oPaging/coupons?appid=${APPID}&creator_mchid=${h.mchid}&limit=2&offset=${offset}${extra}`,
      );
    const first = (await page(0)).json;
    const second = (await page(1)).json;
    expect(first).toMatchObject({ total_count: 3, offset: 0, limit: 2 });
    expect(second).toMatchObject({ total_count: 3, offset: 1, limit: 2 });
    const seen = [...first.data, ...second.data].map((c: { coupon_id: string }) => c.coupon_id);
    expect(seen.sort()).toEqual([...ids].sort());
    expect((await page(2)).json.data).toEqual([]);
    expect((await page(0, "&business_type=MULTIUSE")).json).toMatchObject({ total_count: 0, data: [] });
    expect((await page(0, "&business_type=OTHER")).json.code).toBe("PARAM_ERROR");
  });

  it("checks E9/E12 inputs", async () => {
    expect((await h.client.get(`/v3/marketing/favor/users/oX/coupons/1?appid=${APPID}`)).status).toBe(404);
    expect((await h.client.get("/v3/marketing/favor/users/oX/coupons/1")).json.message).toBe("appid必填");
    expect((await h.client.get("/v3/marketing/favor/users/oX/coupons")).json.message).toBe("appid必填");
    expect((await h.client.get(`/v3/marketing/favor/users/oX/coupons?appid=${APPID}`)).status).toBe(400);
    expect(
      (await h.client.get(`/v3/marketing/favor/users/oX/coupons?appid=${APPID}&creator_mchid=1900000002`)).status,
    ).toBe(403);
    expect(
      (
        await h.client.get(
          `/v3/marketing/favor/users/oX/coupons?appid=${APPID}&creator_mchid=${h.mchid}&status=EXPIRED`,
        )
      ).status,
    ).toBe(400);
  });

  it("replays a send: same request → same coupon_id and one ledger row; other request → RESOURCE_ALREADY_EXISTS", async () => {
    const body = sendBody(h, stockId);
    const first = await h.client.post(sendUrl("oReplay"), body);
    const second = await h.client.post(sendUrl("oReplay"), { ...body });
    expect(second.status).toBe(200);
    expect(second.json.coupon_id).toBe(first.json.coupon_id);
    const ledger = await control(h.sim.url, "GET", `/ledger?out_request_no=${body.out_request_no}`);
    expect(ledger.json.total_count).toBe(1);
    const otherUser = await h.client.post(sendUrl("oReplayOther"), body);
    expect(otherUser.status).toBe(400);
    expect(otherUser.json.code).toBe("RESOURCE_ALREADY_EXISTS");
    expect(h.sim.stats().send_replays).toBeGreaterThanOrEqual(1);
  });

  it("answers a replay first by default; with replay checks on, a replay to a paused stock is refused", async () => {
    const paused = await runningStock(h);
    const body = sendBody(h, paused);
    const first = await h.client.post(sendUrl("oReplayChecks"), body);
    expect(first.status).toBe(200);
    await h.client.post(`/v3/marketing/favor/stocks/${paused}/pause`, { stock_creator_mchid: h.mchid });
    expect((await h.client.post(sendUrl("oReplayChecks"), body)).json).toEqual({ coupon_id: first.json.coupon_id });
    expect(await control(h.sim.url, "POST", "/replays", { checks: "yes" })).toMatchObject({
      status: 400,
      json: { code: "BAD_REPLAYS", field: "checks" },
    });
    try {
      expect(await control(h.sim.url, "POST", "/replays", { checks: true })).toMatchObject({ status: 200 });
      const refused = await h.client.post(sendUrl("oReplayChecks"), body);
      expect(refused.status).toBe(400);
      expect(refused.json).toEqual({ code: "INVALID_REQUEST", message: "活动已结束或未激活" });
    } finally {
      await control(h.sim.url, "POST", "/replays", { checks: false });
    }
    const ledger = await control(h.sim.url, "GET", `/ledger?out_request_no=${body.out_request_no}`);
    expect(ledger.json.total_count).toBe(1);
  });

  it("issues exactly one coupon for 50 concurrent identical sends", async () => {
    const body = sendBody(h, stockId);
    const answers = await Promise.all(Array.from({ length: 50 }, () => h.client.post(sendUrl("oConcurrent"), body)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.json.coupon_id)).size).toBe(1);
    expect(h.sim.ledger().filter((row) => row.out_request_no === body.out_request_no)).toHaveLength(1);
  });

  it("serialises concurrent sends to one openid: exactly max_coupons_per_user succeed, no spurious failures", async () => {
    const stock = await runningStock(h);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => h.client.post(sendUrl("oSerial"), sendBody(h, stock))),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 403).every((a) => a.json.code === "RULE_LIMIT")).toBe(true);
    expect(answers.filter((a) => a.status === 403)).toHaveLength(7);
  });

  it("S8: refuses coupon_value / coupon_minimum", async () => {
    const res = await h.client.post(sendUrl("oS8"), sendBody(h, stockId, { coupon_value: 100 }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ code: "PARAM_ERROR", message: "参数错误,请核对文档要求" });
  });

  it("R15 on send: refuses an unknown field", async () => {
    const res = await h.client.post(sendUrl("oR15"), sendBody(h, stockId, { extra: 1 }));
    expect(res.json.message).toBe("请求中含有未在API文档中定义的参数");
  });

  it("S1: unknown stock → 404, wrong stock_creator_mchid → 400", async () => {
    const missing = await h.client.post(sendUrl("oS1"), sendBody(h, "12345678"));
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ code: "RESOURCE_NOT_EXISTS", message: "批次不存在" });
    const wrongCreator = await h.client.post(
      sendUrl("oS1"),
      sendBody(h, stockId, { stock_creator_mchid: "1900000002" }),
    );
    expect(wrongCreator.status).toBe(400);
    const badMchid = await h.client.post(sendUrl("oS1"), sendBody(h, stockId, { stock_creator_mchid: "abc" }));
    expect(badMchid.json).toEqual({ code: "MCH_NOT_EXISTS", message: "商户号不合法" });
  });

  it("S3: appid not bound → APPID_MCHID_NOT_MATCH; openid of another appid → INVALID_REQUEST", async () => {
    const appid = await h.client.post(sendUrl("oS3"), sendBody(h, stockId, { appid: "wx0000000000000000" }));
    expect(appid.status).toBe(400);
    expect(appid.json).toEqual({ code: "APPID_MCHID_NOT_MATCH", message: "商户号与appid不匹配" });
    await control(h.sim.url, "POST", "/users", { openid: "oOtherApp", appid: "wxffffffffffffffff" });
    const openid = await h.client.post(sendUrl("oOtherApp"), sendBody(h, stockId));
    expect(openid.json).toEqual({ code: "INVALID_REQUEST", message: "openid与appID不匹配" });
  });

  it("S4: refuses unactivated, paused and expired stocks", async () => {
    const created = await h.client.post("/v3/marketing/favor/coupon-stocks", stockBody(h.mchid));
    const unactivated = await h.client.post(sendUrl("oS4"), sendBody(h, created.json.stock_id));
    expect(unactivated.json).toEqual({ code: "INVALID_REQUEST", message: "活动已结束或未激活" });
    const paused = await runningStock(h);
    await h.client.post(`/v3/marketing/favor/stocks/${paused}/pause`, { stock_creator_mchid: h.mchid });
    expect((await h.client.post(sendUrl("oS4"), sendBody(h, paused))).json.message).toBe("活动已结束或未激活");
  });

  it("S6: per-user limit → 403 RULE_LIMIT; natural person limit → 403 REQUEST_BLOCKED", async () => {
    const stock = await runningStock(h, {
      stock_use_rule: {
        max_coupons: 10,
        max_amount: 1000,
        max_coupons_per_user: 1,
        natural_person_limit: true,
        prevent_api_abuse: false,
      },
    });
    expect((await h.client.post(sendUrl("oS6"), sendBody(h, stock))).status).toBe(200);
    const again = await h.client.post(sendUrl("oS6"), sendBody(h, stock));
    expect(again.status).toBe(403);
    expect(again.json).toEqual({ code: "RULE_LIMIT", message: "用户已达最大领券次数" });
    await control(h.sim.url, "POST", "/users", {
      users: [
        { openid: "oPersonA", natural_person_id: "P1" },
        { openid: "oPersonB", natural_person_id: "P1" },
      ],
    });
    expect((await h.client.post(sendUrl("oPersonA"), sendBody(h, stock))).status).toBe(200);
    const sibling = await h.client.post(sendUrl("oPersonB"), sendBody(h, stock));
    expect(sibling.status).toBe(403);
    expect(sibling.json).toEqual({ code: "REQUEST_BLOCKED", message: "用户被限领拦截" });
  });

  it("S7: risky user with prevent_api_abuse → 403 USER_ACCOUNT_ABNORMAL (allowed without it)", async () => {
    await control(h.sim.url, "POST", "/users", { openid: "oRisky", risky: true });
    const guarded = await runningStock(h, {
      stock_use_rule: {
        max_coupons: 10,
        max_amount: 1000,
        max_coupons_per_user: 1,
        natural_person_limit: false,
        prevent_api_abuse: true,
      },
    });
    const res = await h.client.post(sendUrl("oRisky"), sendBody(h, guarded));
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ code: "USER_ACCOUNT_ABNORMAL", message: "用户非法" });
    expect((await h.client.post(sendUrl("oRisky"), sendBody(h, stockId))).status).toBe(200);
  });

  it("S5: budget exhausted → 403 NOT_ENOUGH (count and daily budget)", async () => {
    const stock = await runningStock(h, {
      stock_use_rule: {
        max_coupons: 5,
        max_amount: 500,
        max_coupons_per_user: 5,
        natural_person_limit: false,
        prevent_api_abuse: false,
      },
    });
    for (let i = 0; i < 5; i++)
      expect((await h.client.post(sendUrl(`oBudget${i}`), sendBody(h, stock))).status).toBe(200);
    const over = await h.client.post(sendUrl("oBudget9"), sendBody(h, stock));
    expect(over.status).toBe(403);
    expect(over.json).toEqual({ code: "NOT_ENOUGH", message: "批次预算不足" });
    const daily = await runningStock(h, {
      stock_use_rule: {
        max_coupons: 10,
        max_amount: 1000,
        max_amount_by_day: 200,
        max_coupons_per_user: 5,
        natural_person_limit: false,
        prevent_api_abuse: false,
      },
    });
    const firstBody = sendBody(h, daily);
    const first = await h.client.post(sendUrl("oDaily"), firstBody);
    expect(first.status).toBe(200);
    expect((await h.client.post(sendUrl("oDaily"), sendBody(h, daily))).status).toBe(200);
    expect((await h.client.post(sendUrl("oDaily"), sendBody(h, daily))).json.code).toBe("NOT_ENOUGH");
    // a replay of an issued coupon still answers its coupon_id once the budget is gone
    const replay = await h.client.post(sendUrl("oDaily"), firstBody);
    expect(replay.json).toEqual({ coupon_id: first.json.coupon_id });
  });

  it("refuses a malformed openid and an empty openid segment", async () => {
    expect((await h.client.post(sendUrl("bad%20openid"), sendBody(h, stockId))).status).toBe(400);
    const empty = await h.client.post(sendUrl(""), sendBody(h, stockId));
    expect(empty.json.detail).toEqual({ location: "uri_template", value: "" });
  });

  it("expires coupons when the business clock passes available_end_time", async () => {
    const stock = await runningStock(h);
    const { coupon_id } = (await h.client.post(sendUrl("oExpire"), sendBody(h, stock))).json;
    await control(h.sim.url, "POST", "/clock", { advance_seconds: 31 * 86_400 });
    try {
      const detail = await h.client.get(`/v3/marketing/favor/users/oExpire/coupons/${coupon_id}?appid=${APPID}`);
      expect(detail.json.status).toBe("EXPIRED");
      expect((await h.client.post(sendUrl("oExpire2"), sendBody(h, stock))).json.message).toBe("活动已结束或未激活");
      expect((await control(h.sim.url, "POST", `/coupons/${coupon_id}/use`, {})).status).toBe(400);
    } finally {
      await control(h.sim.url, "POST", "/clock", { offset_ms: 0 });
    }
  });
});

describe("a merchant whose right to send is withdrawn (POST /_simulator/permissions)", () => {
  it("answers its sends, replays included, 403 NO_AUTH until restored; other calls are unaffected", async () => {
    const h = await startHarness();
    try {
      const stockId = await runningStock(h);
      const first = sendBody(h, stockId);
      expect((await h.client.post(sendUrl("oPerm"), first)).status).toBe(200);
      const revoked = await control(h.sim.url, "POST", "/permissions", { mchid: h.mchid, send_coupons: false });
      expect(revoked).toEqual({ status: 200, json: { mchid: h.mchid, send_coupons: false } });
      expect((await control(h.sim.url, "GET", "/permissions")).json).toEqual({ send_revoked: [h.mchid] });
      for (const body of [first, sendBody(h, stockId)]) {
        const refused = await h.client.post(sendUrl("oPerm"), body);
        expect(refused.status).toBe(403);
        expect(refused.json).toEqual({ code: "NO_AUTH", message: "发券商户无权限使用此API" });
      }
      expect((await h.client.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${h.mchid}`)).status).toBe(
        200,
      );
      await control(h.sim.url, "POST", "/permissions", { mchid: h.mchid, send_coupons: true });
      expect((await h.client.post(sendUrl("oPerm"), sendBody(h, stockId))).status).toBe(200);
      const unknown = await control(h.sim.url, "POST", "/permissions", { mchid: "1999999999", send_coupons: false });
      expect(unknown).toMatchObject({ status: 400, json: { field: "mchid" } });
      await control(h.sim.url, "POST", "/permissions", { mchid: h.mchid, send_coupons: false });
      await control(h.sim.url, "POST", "/reset");
      expect((await control(h.sim.url, "GET", "/permissions")).json).toEqual({ send_revoked: [] });
    } finally {
      await h.sim.stop();
    }
  });
});

describe("cross-merchant sending (S2)", () => {
  it("refuses a merchant that the creator did not authorize, and allows an authorized one", async () => {
    const h = await startHarness();
    try {
      const stockId = await runningStock(h);
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
      const other = new TestClient(h.sim.url, { mchid: "1900000002", serialNo: "ABCDEF0123456789", privateKey });
      await control(h.sim.url, "POST", "/merchants", {
        mchid: "1900000002",
        merchant_serial_no: "ABCDEF0123456789",
        public_key: pem,
        appids: ["wx2222222222222222"],
      });
      const body = {
        stock_id: stockId,
        out_request_no: uniqueNo(),
        appid: "wx2222222222222222",
        stock_creator_mchid: h.mchid,
      };
      const refused = await other.post(sendUrl("oCross"), body);
      expect(refused.status).toBe(403);
      expect(refused.json).toEqual({ code: "REQUEST_BLOCKED", message: "批次不支持跨商户发券" });
      await control(h.sim.url, "POST", "/merchants", {
        mchid: "1900000002",
        merchant_serial_no: "ABCDEF0123456789",
        public_key: pem,
        appids: ["wx2222222222222222"],
        authorized_by: [h.mchid],
      });
      const allowed = await other.post(sendUrl("oCross"), { ...body, out_request_no: uniqueNo() });
      expect(allowed.status).toBe(200);
      // an authorised sender reads the creator's stock (E8) but does not list the creator's stocks (E7)
      expect((await other.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${h.mchid}`)).status).toBe(
        200,
      );
      const listed = await other.get(`/v3/marketing/favor/stocks?offset=0&limit=10&stock_creator_mchid=${h.mchid}`);
      expect(listed.status).toBe(403);
      expect(listed.json).toEqual({ code: "REQUEST_BLOCKED", message: "调用商户无权限" });
      // the same out_request_no is a different key for a different merchant
      const primary = await h.client.post(sendUrl("oCross"), { ...body, appid: APPID });
      expect(primary.status).toBe(200);
      expect(primary.json.coupon_id).not.toBe(allowed.json.coupon_id);
    } finally {
      await h.sim.stop();
    }
  });
});

describe("send rate limit", () => {
  it("answers 429 FREQUENCY_LIMIT_EXCEED above the per-merchant send limit", async () => {
    const h = await startHarness({ sendRateLimitPerSecond: 5 });
    try {
      const stockId = await runningStock(h, {
        stock_use_rule: {
          max_coupons: 100,
          max_amount: 10_000,
          max_coupons_per_user: 60,
          natural_person_limit: false,
          prevent_api_abuse: false,
        },
      });
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => h.client.post(sendUrl("oRate"), sendBody(h, stockId))),
      );
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(1);
      expect(limited[0]!.json).toEqual({ code: "FREQUENCY_LIMIT_EXCEED", message: "接口限频" });
      expect(h.sim.stats().rate_limited).toBe(limited.length);
      expect(h.sim.stats().coupons_issued).toBe(12 - limited.length);
    } finally {
      await h.sim.stop();
    }
  });
});
