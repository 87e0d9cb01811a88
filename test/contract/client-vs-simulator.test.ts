import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "#local/simulator/index.js";
import type { RunningSimulator, SimulatorMode } from "#local/simulator/types.js";
import { createWechatPayClient, type WechatPayClient } from "#shared/wechatpay/client.js";
import { SignatureVerificationError, WechatPayApiError } from "#shared/wechatpay/errors.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import { type HttpExchange, nodeHttpSend } from "#shared/wechatpay/transport/node-http-send.js";
import { chinaTime } from "../helpers/local-stack-client.js";

/** The smallest valid PNG (1×1). */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

function clientFor(
  sim: RunningSimulator,
  mode: SimulatorMode,
  overrides: Partial<Parameters<typeof createWechatPayClient>[0]> = {},
) {
  const c = sim.config;
  return createWechatPayClient({
    mchid: c.mchid,
    merchantSerialNo: c.merchant_serial_no,
    merchantPrivateKey: c.keys.merchantPrivateKeyPem,
    apiv3Key: c.apiv3_key,
    ...(mode === "public_key"
      ? { wechatpayPublicKey: { id: c.wechatpay_public_key_id, pem: c.keys.wechatpayPublicKeyPem } }
      : {}),
    baseUrl: sim.url,
    backupBaseUrl: sim.url,
    timeoutMs: 3_000,
    ...overrides,
  });
}

/**
 * Two independent implementations of WeChat Pay APIv3 agree: this project's client (shared/wechatpay) drives every
 * cash-coupon endpoint against the simulator (local/simulator, its own node:crypto code) and verifies every answer.
 */
describe.each(["public_key", "platform_certificate"] as const)("client ⇄ simulator in %s mode", (mode) => {
  let sim: RunningSimulator;
  let client: WechatPayClient;
  let stockId: string;
  const openid = "o-contract-user";

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, mode, notifyRetryIntervalMs: 100 });
    client = clientFor(sim, mode);
  });
  afterAll(async () => sim?.stop());

  it("E1 creates a stock (and a replay returns the same stock_id)", async () => {
    const body = {
      stock_name: "合同测试",
      belong_merchant: sim.config.mchid,
      available_begin_time: chinaTime(Date.now() + 500),
      available_end_time: chinaTime(Date.now() + 7 * 86_400_000),
      stock_use_rule: {
        max_coupons: 10,
        max_amount: 1_000,
        max_coupons_per_user: 2,
        natural_person_limit: false,
        prevent_api_abuse: false,
      },
      coupon_use_rule: {
        fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
        available_merchants: [sim.config.mchid],
      },
      no_cash: false,
      stock_type: "NORMAL" as const,
      out_request_no: `contract-${mode}`,
    };
    const created = await client.stocks.create(body);
    expect(created.stock_id).toMatch(/^\d+$/);
    expect((await client.stocks.create(body)).stock_id).toBe(created.stock_id);
    stockId = created.stock_id;
    await new Promise((r) => setTimeout(r, 600));
  });

  it("E2–E4 start, pause and restart it; E8 and E7 read it back", async () => {
    expect((await client.stocks.start(stockId)).stock_id).toBe(stockId);
    expect((await client.stocks.pause(stockId)).stock_id).toBe(stockId);
    expect((await client.stocks.restart(stockId)).stock_id).toBe(stockId);
    expect(await client.stocks.get(stockId)).toMatchObject({ stock_id: stockId, status: "running" });
    const list = await client.stocks.list({ offset: 0, limit: 10 });
    expect(list.data?.map((s) => s.stock_id)).toContain(stockId);
  });

  it("E5 stops only an unactivated stock (a running one is refused with WeChat's error)", async () => {
    const error = await client.stocks.stop(stockId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPayApiError);
    expect((error as WechatPayApiError).statusCode).toBe(400);
  });

  it("E6 sends a coupon idempotently; E9 and E12 read it", async () => {
    const send = { stock_id: stockId, out_request_no: `contract-send-${mode}`, appid: sim.config.appid };
    const { coupon_id } = await client.coupons.send(openid, send);
    expect((await client.coupons.send(openid, send)).coupon_id).toBe(coupon_id);
    expect(sim.ledger().filter((c) => c.out_request_no === send.out_request_no)).toHaveLength(1);
    expect(await client.coupons.get(openid, coupon_id, { appid: sim.config.appid })).toMatchObject({
      stock_id: stockId,
      status: "SENDED",
    });
    const mine = await client.coupons.list(openid, { appid: sim.config.appid, creator_mchid: sim.config.mchid });
    expect(mine.data?.map((c) => c.coupon_id)).toContain(coupon_id);
  });

  it("E10 and E11 list available merchants and items", async () => {
    expect((await client.stocks.merchants(stockId, { offset: 0, limit: 10 })).data).toContain(sim.config.mchid);
    expect(await client.stocks.items(stockId, { offset: 0, limit: 10 })).toMatchObject({ stock_id: stockId });
  });

  it("E13 and E14: no file before 10:00 (Beijing) the day after the stock ends, then streamed, SHA-1-checked rows", async () => {
    const send = { stock_id: stockId, out_request_no: `contract-flow-${mode}`, appid: sim.config.appid };
    await client.coupons.send("o-contract-flow", send);
    const [first, second] = sim.ledger().filter((c) => c.stock_id === stockId);
    const control = (path: string) => fetch(`${sim.url}/_simulator/coupons/${path}`, { method: "POST", body: "{}" });
    await control(`${first!.coupon_id}/use`);
    await control(`${second!.coupon_id}/use`);
    await control(`${second!.coupon_id}/refund`);

    const early = await client.flows.openUseFlow(stockId).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(WechatPayApiError);
    expect(early).toMatchObject({ statusCode: 404, code: "RESOURCE_NOT_EXISTS" });
    expect((early as Error).message).toContain("账单文件不存在");

    const { available_end_time } = await client.stocks.get(stockId);
    const availableAt = flowFilesAvailableAt(available_end_time);
    const clock = (body: unknown) =>
      fetch(`${sim.url}/_simulator/clock`, { method: "POST", body: JSON.stringify(body) });
    await clock({ offset_ms: availableAt - Date.now() - 5_000 });
    await expect(client.flows.openRefundFlow(stockId)).rejects.toMatchObject({ code: "RESOURCE_NOT_EXISTS" });
    await clock({ offset_ms: availableAt - Date.now() + 1_000 });
    try {
      const useFlow = await client.flows.openUseFlow(stockId);
      const rows = [];
      for await (const row of useFlow) rows.push(row);
      expect(rows.map((r) => r.coupon_id).sort()).toEqual([first!.coupon_id, second!.coupon_id].sort());
      expect(rows[0]).toMatchObject({ stock_id: stockId, coupon_amount: 100, order_amount: 200, trade_type: "支付" });
      expect(rows[0]!.transaction_id).toMatch(/^4200\d{24}$/);
      expect(useFlow.completed).toEqual({ rows: 2, sha1: useFlow.link.hash_value });
      const refundFlow = await client.flows.openRefundFlow(stockId);
      const refunds = [];
      for await (const row of refundFlow) refunds.push(row);
      expect(refunds).toEqual([expect.objectContaining({ coupon_id: second!.coupon_id, refund_amount: 200 })]);
      expect(refundFlow.completed?.sha1).toBe(refundFlow.link.hash_value);
    } finally {
      await clock({ offset_ms: 0 });
    }
  });

  it("E15 and E16 set and read the callback URL", async () => {
    const url = "https://merchant.example.com/wechatpay/notify";
    expect((await client.callbacks.set({ notify_url: url })).notify_url).toBe(url);
    expect((await client.callbacks.get()).notify_url).toBe(url);
  });

  it("E17 uploads a marketing image (the signature covers the meta JSON)", async () => {
    expect((await client.media.uploadImage({ filename: "logo.png", bytes: PNG })).media_url).toMatch(/^https:\/\//);
  });

  it("downloads and decrypts platform certificates", async () => {
    const certificates = await client.certificates.download();
    expect(certificates.map((c) => c.serialNo)).toContain(sim.config.platform_certificate_serial);
  });

  it("refuses answers signed by someone else", async () => {
    const other = await startSimulator({ port: 0, mode });
    try {
      // The other simulator has its own WeChat keys: a client that trusts only ours must refuse its answers.
      const wrong = clientFor(sim, mode, { baseUrl: other.url, backupBaseUrl: other.url, maxAttempts: 1 });
      const error = await wrong.stocks.get(stockId).catch((e: unknown) => e);
      expect(error).toSatisfy(
        (e: unknown) => e instanceof SignatureVerificationError || e instanceof WechatPayApiError,
      );
    } finally {
      await other.stop();
    }
  });
});

describe("the simulator refuses what the client did not sign", () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, mode: "public_key" });
  });
  afterAll(async () => sim?.stop());

  const tampering: [string, (exchange: HttpExchange) => void][] = [
    [
      "a tampered signature",
      (exchange) => {
        exchange.headers.Authorization = exchange.headers.Authorization!.replace(/signature="(.)/, 'signature="A$1');
      },
    ],
    [
      "a tampered body",
      (exchange) => {
        exchange.body = Buffer.from(exchange.body!.toString("utf8").replace("tamper-1", "tamper-2"));
      },
    ],
    [
      "a stale timestamp",
      (exchange) => {
        exchange.headers.Authorization = exchange.headers.Authorization!.replace(
          /timestamp="\d+"/,
          `timestamp="${Math.floor(Date.now() / 1000) - 3_600}"`,
        );
      },
    ],
  ];
  it.each(tampering)("answers 401 SIGN_ERROR to %s", async (_name, tamper) => {
    let status = 0;
    let code = "";
    const client = clientFor(sim, "public_key", {
      maxAttempts: 1,
      send: async (exchange) => {
        const changed = { ...exchange, headers: { ...exchange.headers } };
        tamper(changed);
        const answer = await nodeHttpSend(changed);
        status = answer.status;
        code = (JSON.parse(answer.bytes.toString("utf8")) as { code: string }).code;
        return answer;
      },
    });
    await expect(
      client.coupons.send("o-tamper", { stock_id: "123", out_request_no: "tamper-1", appid: sim.config.appid }),
    ).rejects.toBeInstanceOf(WechatPayApiError);
    expect(status).toBe(401);
    expect(code).toBe("SIGN_ERROR");
    expect(sim.ledger()).toHaveLength(0);
  });
});
