import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";
import {
  deliverNotification,
  FORGERY_NAMES,
  forgedNotifications,
  type SignedNotification,
  signedNotification,
} from "../../helpers/wechat-notification.js";

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack();
  stockId = await runningStock(stack, "it-notify-stock");
}, 60_000);
afterAll(async () => stack?.stop());

const deliver = (n: SignedNotification) => deliverNotification(stack, n);

const eventsOf = async (couponId: string) =>
  (await callApi<{ data: unknown[] }>(stack, "GET", `/coupons/${couponId}/events`)).body.data;

describe("the WeChat webhook", () => {
  it("accepts a genuine notification and stores it once however often it is delivered", async () => {
    const genuine = signedNotification(stack, { id: "EV-genuine-1", couponId: "880001", stockId });
    for (let i = 0; i < 4; i++) expect((await deliver(genuine)).status).toBe(204);
    expect(await eventsOf("880001")).toHaveLength(1);
  });

  it.each(FORGERY_NAMES.map((name, index) => [name, index] as const))(
    "refuses a notification %s and changes nothing",
    async (_name, index) => {
      const forgery = forgedNotifications(stack, stockId)[index]!;
      const response = await deliver(forgery.make());
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: "FAIL" });
      expect(await eventsOf(forgery.couponId)).toHaveLength(0);
    },
  );

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
