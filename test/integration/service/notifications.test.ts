import { createCipheriv, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack();
  stockId = await runningStock(stack, "it-notify-stock");
}, 60_000);
afterAll(async () => stack?.stop());

/** WeChat's side of a notification, built independently here with node:crypto (test-only). */
function signedNotification(options: {
  id: string;
  couponId: string;
  key?: KeyObject;
  serial?: string;
  timestamp?: number;
  signature?: string;
}) {
  const keys = stack.simulator.config.keys;
  const apiv3Key = keys.apiv3Key;
  const nonce = randomBytes(6).toString("hex");
  const plaintext = JSON.stringify({
    stock_creator_mchid: stack.mchid,
    stock_id: stockId,
    coupon_id: options.couponId,
    status: "USED",
  });
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(apiv3Key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from("coupon"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).toString("base64");
  const body = JSON.stringify({
    id: options.id,
    create_time: "2026-11-27T10:00:05+08:00",
    resource_type: "encrypt-resource",
    event_type: "COUPON.USE",
    summary: "用券成功",
    resource: { original_type: "coupon", algorithm: "AEAD_AES_256_GCM", ciphertext, associated_data: "coupon", nonce },
  });
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const headerNonce = randomBytes(16).toString("hex");
  const signature =
    options.signature ??
    sign(
      "sha256",
      Buffer.from(`${timestamp}\n${headerNonce}\n${body}\n`),
      options.key ?? keys.wechatpayPrivateKey,
    ).toString("base64");
  return {
    body,
    headers: {
      "content-type": "application/json",
      "wechatpay-timestamp": timestamp,
      "wechatpay-nonce": headerNonce,
      "wechatpay-serial": options.serial ?? stack.simulator.config.wechatpay_public_key_id,
      "wechatpay-signature": signature,
      "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
    },
  };
}

const deliver = (n: { body: string; headers: Record<string, string> }) =>
  fetch(`${stack.apiUrl}/notify/wechatpay`, { method: "POST", headers: n.headers, body: n.body });

const eventsOf = async (couponId: string) =>
  (await callApi<{ data: unknown[] }>(stack, "GET", `/coupons/${couponId}/events`)).body.data;

describe("the WeChat webhook", () => {
  it("accepts a genuine notification and stores it once however often it is delivered", async () => {
    const genuine = signedNotification({ id: "EV-genuine-1", couponId: "880001" });
    for (let i = 0; i < 4; i++) expect((await deliver(genuine)).status).toBe(204);
    expect(await eventsOf("880001")).toHaveLength(1);
  });

  const forgeries: [string, () => { body: string; headers: Record<string, string> }][] = [
    [
      "signed with another key",
      () =>
        signedNotification({
          id: "EV-forged",
          couponId: "880002",
          key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
        }),
    ],
    [
      "replayed with a timestamp 10 minutes old",
      () => signedNotification({ id: "EV-old", couponId: "880003", timestamp: Math.floor(Date.now() / 1000) - 600 }),
    ],
    [
      "a WECHATPAY/SIGNTEST/ probe",
      () => signedNotification({ id: "EV-probe", couponId: "880004", signature: "WECHATPAY/SIGNTEST/abc" }),
    ],
    [
      "naming a serial we do not hold",
      () =>
        signedNotification({
          id: "EV-serial",
          couponId: "880005",
          serial: "PUB_KEY_ID_0000000000000000000000000000000001",
        }),
    ],
    [
      "with a tampered body",
      () => {
        const n = signedNotification({ id: "EV-tamper", couponId: "880006" });
        return { ...n, body: n.body.replace("用券成功", "用券失败") };
      },
    ],
  ];
  it.each(forgeries)("refuses a notification %s and changes nothing", async (_name, make) => {
    const forged = make();
    const response = await deliver(forged);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "FAIL" });
    const couponId = JSON.parse(forged.body.includes("880006") ? '{"c":"880006"}' : "{}").c;
    if (couponId) expect(await eventsOf(couponId)).toHaveLength(0);
  });

  it("answers malformed bodies with 4xx, never 5xx", async () => {
    for (const body of ["", "{", "[]", '{"id":1}', "x".repeat(10_000)]) {
      const response = await fetch(`${stack.apiUrl}/notify/wechatpay`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });

  it("stores once when WeChat redelivers because its first deliveries seemed to fail", async () => {
    // A proxy between WeChat and the webhook: it forwards every delivery, but tells WeChat the first two failed.
    let deliveries = 0;
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        deliveries++;
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([, v]) => typeof v === "string"),
        ) as Record<string, string>;
        await fetch(`${stack.apiUrl}/notify/wechatpay`, { method: "POST", headers, body: Buffer.concat(chunks) });
        res.statusCode = deliveries <= 2 ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/wechat`;
    try {
      expect((await callApi(stack, "POST", "/callbacks", { notify_url: proxyUrl, switch: true })).status).toBe(200);
      const sent = await callApi<{ coupon_id: string }>(stack, "POST", "/coupons", {
        stock_id: stockId,
        openid: "o-redeliver",
        out_request_no: "it-redeliver-1",
      });
      await fetch(`${stack.simulatorUrl}/_simulator/coupons/${sent.body.coupon_id}/use`, {
        method: "POST",
        body: "{}",
      });
      await expect.poll(() => deliveries, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      expect(await eventsOf(sent.body.coupon_id)).toHaveLength(1);
    } finally {
      await callApi(stack, "POST", "/callbacks", { notify_url: `${stack.apiUrl}/notify/wechatpay`, switch: true });
      proxy.close();
    }
  });
});
