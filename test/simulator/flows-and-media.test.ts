import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { control } from "./helpers/client.js";
import { imageUpload, JPG, PNG } from "./helpers/multipart.js";
import { type Harness, runningStock, sendBody, sendUrl, startHarness, stockBody } from "./helpers/setup.js";
import { verifyWechatSignature } from "./helpers/signer.js";

const UPLOAD = "/v3/marketing/favor/media/image-upload";

/**
 * 10:00 Beijing the day after the Beijing day of `available_end_time` (as WeChat answers it, `…+08:00`), computed from
 * the text, apart from the simulator's own arithmetic.
 */
function availableFrom(availableEndTime: string): { before: string; at: string } {
  const day = new Date(`${availableEndTime.slice(0, 10)}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  const next = day.toISOString().slice(0, 10);
  return { before: `${next}T09:59:59+08:00`, at: `${next}T10:00:00+08:00` };
}

describe("use-flow and refund-flow (E13/E14) and the bill download", () => {
  let h: Harness;
  let wallOffset = 0;
  beforeAll(async () => {
    h = await startHarness({ now: () => Date.now() + wallOffset });
  });
  afterAll(() => h.sim.stop());
  // Each test moves the business clock past its stock's end; the next one creates stocks at the real time again.
  afterEach(async () => {
    await control(h.sim.url, "POST", "/clock", { offset_ms: 0 });
  });

  async function stockEnd(stockId: string): Promise<string> {
    const detail = await h.client.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${h.mchid}`);
    return detail.json.available_end_time as string;
  }

  /** Moves the business clock to the moment WeChat starts serving the stock's files. */
  async function filesAvailable(stockId: string): Promise<void> {
    const moved = await control(h.sim.url, "POST", "/clock", { set: availableFrom(await stockEnd(stockId)).at });
    expect(moved.status).toBe(200);
  }

  it("answers 404 RESOURCE_NOT_EXISTS 账单文件不存在 until 10:00 (Beijing) the day after the stock ends", async () => {
    const stockId = await runningStock(h);
    const couponId = (await h.client.post(sendUrl("oEarly"), sendBody(h, stockId))).json.coupon_id;
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    await control(h.sim.url, "POST", `/coupons/${couponId}/refund`, {});
    const { before, at } = availableFrom(await stockEnd(stockId));
    for (const kind of ["use-flow", "refund-flow"]) {
      const running = await h.client.get(`/v3/marketing/favor/stocks/${stockId}/${kind}`);
      expect(running.status).toBe(404);
      expect(running.json).toEqual({ code: "RESOURCE_NOT_EXISTS", message: "账单文件不存在" });
      expect(verifyWechatSignature(running.headers, running.text, h.sim.config.keys.platformPublicKey)).toBe(true);
    }
    await control(h.sim.url, "POST", "/clock", { set: before });
    for (const kind of ["use-flow", "refund-flow"])
      expect((await h.client.get(`/v3/marketing/favor/stocks/${stockId}/${kind}`)).status).toBe(404);
    await control(h.sim.url, "POST", "/clock", { set: at });
    for (const kind of ["use-flow", "refund-flow"])
      expect((await h.client.get(`/v3/marketing/favor/stocks/${stockId}/${kind}`)).status).toBe(200);
  });

  it("answers 账单文件不存在 for an ended stock with nothing to list", async () => {
    const stockId = await runningStock(h);
    await h.client.post(sendUrl("oUnused"), sendBody(h, stockId));
    await filesAvailable(stockId);
    for (const kind of ["use-flow", "refund-flow"]) {
      const answer = await h.client.get(`/v3/marketing/favor/stocks/${stockId}/${kind}`);
      expect(answer.status).toBe(404);
      expect(answer.json.message).toBe("账单文件不存在");
    }
  });

  it("serves a use-flow file whose SHA-1 matches hash_value, in the observed CSV format", async () => {
    const stockId = await runningStock(h);
    const coupons: string[] = [];
    for (const openid of ["oFlow1", "oFlow2", "oFlow3"])
      coupons.push((await h.client.post(sendUrl(openid), sendBody(h, stockId))).json.coupon_id);
    await control(h.sim.url, "POST", `/coupons/${coupons[0]}/use`, {
      consume_amount: 250,
      transaction_id: "4200000000000000000000000042",
    });
    await control(h.sim.url, "POST", `/coupons/${coupons[1]}/use`, {});
    await filesAvailable(stockId);
    const link = await h.client.get(`/v3/marketing/favor/stocks/${stockId}/use-flow`);
    expect(link.status).toBe(200);
    expect(link.json).toEqual({
      url: expect.stringMatching(new RegExp(`^${h.sim.url}/v3/billdownload/file\\?token=`)),
      hash_value: expect.stringMatching(/^[0-9a-f]{40}$/),
      hash_type: "SHA1",
    });
    const path = link.json.url.slice(h.sim.url.length);
    const file = await h.client.get(path);
    expect(file.status).toBe(200);
    expect(file.headers.get("wechatpay-signature")).toBeNull();
    expect(createHash("sha1").update(file.text, "utf8").digest("hex")).toBe(link.json.hash_value);
    // no byte-order mark (observed: docs/wechatpay-cash-coupons.md#file-format)
    expect(file.text.charCodeAt(0)).not.toBe(0xfeff);
    const lines = file.text.split("\r\n");
    expect(lines[0]).toBe(
      "批次id,优惠id,优惠类型,优惠金额（元）,订单总金额（元）,交易类型,支付单号,消耗时间,消耗商户号,设备号,银行流水号,单品信息",
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^\`${stockId},\`${coupons[0]},\`全场代金券,\`1\\.00,\`2\\.50,\`支付,\`4200000000000000000000000042,\`\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2},\`${h.mchid},"","",""$`,
      ),
    );
    expect(lines.slice(3)).toEqual(["总条数", "`2", ""]);
    // the link download is signed by the merchant like any call
    expect((await h.client.get(path, { noAuth: true })).status).toBe(401);
  });

  it("expires the download link after 30 s", async () => {
    const stockId = await runningStock(h);
    const couponId = (await h.client.post(sendUrl("oExpiry"), sendBody(h, stockId))).json.coupon_id;
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    await filesAvailable(stockId);
    const link = await h.client.get(`/v3/marketing/favor/stocks/${stockId}/use-flow`);
    wallOffset = 31_000;
    try {
      const file = await h.client.get(link.json.url.slice(h.sim.url.length));
      expect(file.status).toBe(400);
    } finally {
      wallOffset = 0;
    }
    expect((await h.client.get("/v3/billdownload/file?token=nope")).status).toBe(404);
  });

  it("serves a refund-flow file after a refund (coupon usable again)", async () => {
    const stockId = await runningStock(h);
    const couponId = (await h.client.post(sendUrl("oRefund"), sendBody(h, stockId))).json.coupon_id;
    expect((await control(h.sim.url, "POST", `/coupons/${couponId}/refund`, {})).status).toBe(400);
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, { consume_amount: 300 });
    const refund = await control(h.sim.url, "POST", `/coupons/${couponId}/refund`, { refund_id: "50300000001" });
    expect(refund.json).toMatchObject({
      coupon_id: couponId,
      refund_id: "50300000001",
      refund_amount: 300,
      status: "SENDED",
    });
    await filesAvailable(stockId);
    const link = await h.client.get(`/v3/marketing/favor/stocks/${stockId}/refund-flow`);
    expect(verifyWechatSignature(link.headers, link.text, h.sim.config.keys.platformPublicKey)).toBe(true);
    const file = await h.client.get(link.json.url.slice(h.sim.url.length));
    expect(createHash("sha1").update(Buffer.from(file.text, "utf8")).digest("hex")).toBe(link.json.hash_value);
    expect(file.text).toContain(`\`${couponId},`);
    expect(file.text).toContain("`50300000001");
    // docs/wechatpay-cash-coupons.md#refund-flow-file-format: 订单号, 单品信息, 银行流水号 as the official page says.
    expect(file.text.split("\r\n")[0]).toBe(
      "批次id,优惠id,优惠类型,优惠金额（元）,订单总金额（元）,交易类型,支付单号,退款时间,退款商户号,退款单号,退款金额（元）," +
        "设备号,银行流水号,单品信息",
    );
    expect(file.text.endsWith("总条数\r\n`1\r\n")).toBe(true);
  });

  it("lists every use: a coupon used, refunded and used again has two use-flow rows", async () => {
    const stockId = await runningStock(h);
    const couponId = (await h.client.post(sendUrl("oTwice"), sendBody(h, stockId))).json.coupon_id;
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, { transaction_id: "4200000000000000000000000101" });
    await control(h.sim.url, "POST", `/coupons/${couponId}/refund`, {});
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, { transaction_id: "4200000000000000000000000102" });
    await filesAvailable(stockId);
    const link = await h.client.get(`/v3/marketing/favor/stocks/${stockId}/use-flow`);
    const text = (await h.client.get(link.json.url.slice(h.sim.url.length))).text;
    const rows = text.split("\r\n").filter((line) => line.startsWith(`\`${stockId},\`${couponId},`));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain("`4200000000000000000000000101,");
    expect(rows[1]).toContain("`4200000000000000000000000102,");
    expect(text.endsWith("总条数\r\n`2\r\n")).toBe(true);
  });

  it("refuses flows of unknown stocks", async () => {
    expect((await h.client.get("/v3/marketing/favor/stocks/11111111/use-flow")).status).toBe(404);
  });
});

describe("marketing image upload (E17)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.stop());

  const upload = (filename: string, data: Buffer, meta?: Record<string, unknown>, signedOverride?: string) => {
    const form = imageUpload(filename, data, meta);
    return h.client.request("POST", UPLOAD, undefined, {
      raw: form.body,
      signedBody: signedOverride ?? form.meta,
      headers: { "Content-Type": form.contentType },
    });
  };

  it("uploads a PNG (signature over the meta JSON) and the URL is usable in pattern_info", async () => {
    const res = await upload("logo.png", PNG);
    expect(res.status, res.text).toBe(200);
    expect(res.json.media_url).toMatch(/^https:\/\/wxpaylogo\.qpic\.cn\/wxpaylogo\/.+\/0$/);
    const stock = await h.client.post(
      "/v3/marketing/favor/coupon-stocks",
      stockBody(h.mchid, {
        pattern_info: { description: "x", merchant_logo: res.json.media_url, coupon_image: res.json.media_url },
      }),
    );
    expect(stock.status, stock.text).toBe(200);
    expect((await upload("photo.JPG", JPG)).status).toBe(200);
  });

  it("refuses a signature over the whole multipart body instead of the meta JSON", async () => {
    const form = imageUpload("logo.png", PNG);
    const res = await upload("logo.png", PNG, undefined, form.body.toString("latin1"));
    expect(res.status).toBe(401);
  });

  it("refuses a wrong sha256, a bad extension, a type mismatch, non-images, oversize files and unknown meta fields", async () => {
    expect((await upload("logo.png", PNG, { filename: "logo.png", sha256: "0".repeat(64) })).json.code).toBe(
      "PARAM_ERROR",
    );
    expect((await upload("logo.gif", PNG)).status).toBe(400);
    expect((await upload("logo.jpg", PNG)).status).toBe(400);
    expect((await upload("notes.png", Buffer.from("hello"))).status).toBe(400);
    const big = Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)]);
    expect((await upload("big.png", big)).json.message).toBe("图片大小不能超过2M");
    const sha = createHash("sha256").update(PNG).digest("hex");
    expect((await upload("logo.png", PNG, { filename: "logo.png", sha256: sha, size: 1 })).json.message).toBe(
      "请求中含有未在API文档中定义的参数",
    );
  });

  it("refuses a non-multipart body", async () => {
    const res = await h.client.post(UPLOAD, { filename: "x.png" });
    expect(res.status).toBe(400);
  });
});
