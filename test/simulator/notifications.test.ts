import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { control } from "./helpers/client.js";
import { startReceiver } from "./helpers/receiver.js";
import { type Harness, runningStock, sendBody, sendUrl, startHarness } from "./helpers/setup.js";
import { decryptResource } from "./helpers/signer.js";

const CALLBACKS = "/v3/marketing/favor/callbacks";

function verifyNotification(
  headers: Record<string, string | string[] | undefined>,
  body: string,
  pem: string | KeyObject,
) {
  const key = typeof pem === "string" ? createPublicKey(pem) : pem;
  const message = `${headers["wechatpay-timestamp"]}\n${headers["wechatpay-nonce"]}\n${body}\n`;
  return verify("sha256", Buffer.from(message), key, Buffer.from(String(headers["wechatpay-signature"]), "base64"));
}

async function issue(h: Harness, openid = "oNotify") {
  const stockId = await runningStock(h);
  const res = await h.client.post(sendUrl(openid), sendBody(h, stockId));
  return { stockId, couponId: res.json.coupon_id as string };
}

describe("notify URL (E15/E16)", () => {
  let h: Harness;
  afterEach(() => h?.sim.stop());

  it("sets and reads the notify URL", async () => {
    h = await startHarness();
    const set = await h.client.post(CALLBACKS, {
      mchid: h.mchid,
      notify_url: "https://merchant.example.com/notify",
      switch: true,
    });
    expect(set.status).toBe(200);
    expect(set.json).toEqual({
      update_time: expect.stringMatching(/\+08:00$/),
      notify_url: "https://merchant.example.com/notify",
    });
    const got = await h.client.get(`${CALLBACKS}?mchid=${h.mchid}`);
    expect(got.json).toEqual({ mchid: h.mchid, notify_url: "https://merchant.example.com/notify" });
  });

  it("refuses http (except loopback), query strings, empty values and another mchid", async () => {
    h = await startHarness();
    const post = (body: Record<string, unknown>) => h.client.post(CALLBACKS, body);
    expect((await post({ mchid: h.mchid, notify_url: "http://merchant.example.com/notify" })).status).toBe(400);
    expect((await post({ mchid: h.mchid, notify_url: "https://merchant.example.com/notify?x=1" })).status).toBe(400);
    expect((await post({ mchid: h.mchid, notify_url: "" })).json.message).toBe("回调url不能为空");
    expect((await post({ notify_url: "https://a.example.com/n" })).json.message).toBe("回调商户不能为空");
    expect((await post({ mchid: "1900000002", notify_url: "https://a.example.com/n" })).json.code).toBe(
      "INVALID_REQUEST",
    );
    expect((await post({ mchid: h.mchid, notify_url: "https://a.example.com/n", extra: 1 })).json.message).toBe(
      "请求中含有未在API文档中定义的参数",
    );
    for (const host of ["127.0.0.1:9", "localhost:9", "[::1]:9", "127.1.2.3"])
      expect((await post({ mchid: h.mchid, notify_url: `http://${host}/notify` })).status).toBe(200);
    expect((await h.client.get(`${CALLBACKS}?mchid=1900000002`)).status).toBe(400);
  });

  it("answers 404 when no notify URL was set", async () => {
    h = await startHarness();
    expect((await h.client.get(`${CALLBACKS}?mchid=${h.mchid}`)).status).toBe(404);
  });
});

describe("COUPON.USE notifications", () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  afterEach(async () => {
    await h?.sim.stop();
    await receiver?.close();
    receiver = undefined;
  });

  it("delivers a signed, encrypted COUPON.USE and decrypts to the coupon with consume_information", async () => {
    h = await startHarness({ mode: "platform_certificate" });
    receiver = await startReceiver();
    await h.client.post(CALLBACKS, { mchid: h.mchid, notify_url: receiver.url });
    const { stockId, couponId } = await issue(h);
    const used = await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {
      consume_amount: 500,
      transaction_id: "4200000000000000000000000001",
    });
    expect(used.status).toBe(200);
    expect(used.json).toMatchObject({ coupon_id: couponId, status: "USED", notification_id: expect.any(String) });
    await receiver.waitFor(1);
    const [n] = receiver.received;
    expect(n!.headers["content-type"]).toBe("application/json");
    expect(n!.headers["wechatpay-serial"]).toBe(h.sim.config.platform_certificate_serial);
    expect(n!.headers["wechatpay-signature-type"]).toBe("WECHATPAY2-SHA256-RSA2048");
    expect(n!.headers["request-id"]).toBeTruthy();
    expect(verifyNotification(n!.headers, n!.body, h.sim.config.keys.platformCertificatePem)).toBe(true);
    const envelope = JSON.parse(n!.body);
    expect(envelope).toMatchObject({
      id: used.json.notification_id,
      resource_type: "encrypt-resource",
      event_type: "COUPON.USE",
      summary: "用券成功",
      resource: { original_type: "coupon", algorithm: "AEAD_AES_256_GCM", associated_data: "coupon" },
    });
    expect(envelope.resource.nonce).toHaveLength(12);
    const coupon = JSON.parse(decryptResource(h.sim.config.apiv3_key, envelope.resource));
    expect(coupon).toMatchObject({
      stock_id: stockId,
      coupon_id: couponId,
      status: "USED",
      stock_creator_mchid: h.mchid,
      consume_information: {
        consume_mchid: h.mchid,
        transaction_id: "4200000000000000000000000001",
        consume_time: expect.stringMatching(/\+08:00$/),
      },
    });
    await expect.poll(() => h.sim.stats().notifications_acknowledged).toBe(1);
    expect(h.sim.stats().notifications_sent).toBe(1);
    const again = await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    expect(again.status).toBe(400);
    const detail = await h.client.get(
      `/v3/marketing/favor/users/oNotify/coupons/${couponId}?appid=${h.sim.config.appid}`,
    );
    expect(detail.json.status).toBe("USED");
  });

  it("retries with the same id until acknowledged (500s, dropped connections, timeouts)", async () => {
    h = await startHarness({ notifyRetryIntervalMs: 20, notifyTimeoutMs: 300 });
    receiver = await startReceiver({ failures: 3 });
    await h.client.post(CALLBACKS, { mchid: h.mchid, notify_url: receiver.url });
    const { couponId } = await issue(h);
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    await receiver.waitFor(4);
    await expect.poll(() => h.sim.stats().notifications_acknowledged).toBe(1);
    const ids = receiver.received.map((r) => JSON.parse(r.body).id);
    expect(new Set(ids).size).toBe(1);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(h.sim.stats()).toMatchObject({
      notifications_sent: 4,
      notifications_failed_attempts: 3,
      notifications_pending: 0,
    });
    for (const r of receiver.received)
      expect(verifyNotification(r.headers, r.body, h.sim.config.keys.platformPublicKey)).toBe(true);

    for (const mode of ["drop", "hang"] as const) {
      const flaky = await startReceiver({ failures: 1, mode });
      try {
        await h.client.post(CALLBACKS, { mchid: h.mchid, notify_url: flaky.url });
        const next = await issue(h, `o${mode}`);
        await control(h.sim.url, "POST", `/coupons/${next.couponId}/use`, {});
        await flaky.waitFor(2);
        expect(JSON.parse(flaky.received[0]!.body).id).toBe(JSON.parse(flaky.received[1]!.body).id);
      } finally {
        await flaky.close();
      }
    }
  });

  it("delivers nine times in all, one interval apart, then gives up (WeChat: 1min1次，总计9次)", async () => {
    const interval = 40;
    h = await startHarness({ notifyRetryIntervalMs: interval });
    const failing = await startReceiver({ failures: 100 });
    receiver = failing;
    await h.client.post(CALLBACKS, { mchid: h.mchid, notify_url: failing.url });
    const { couponId } = await issue(h);
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    await failing.waitFor(9);
    await expect.poll(() => h.sim.stats().notifications_abandoned).toBe(1);
    // a tenth attempt would have come one interval after the ninth
    await new Promise((r) => setTimeout(r, interval * 3));
    expect(failing.received).toHaveLength(9);
    expect(h.sim.stats()).toMatchObject({ notifications_sent: 9, notifications_failed_attempts: 9 });
    const gaps = failing.received.slice(1).map((r, i) => r.at - failing.received[i]!.at);
    // timers never fire early; under load they may fire late, so only the lower bound is checked
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(interval - 2);
    const [delivery] = (await control(h.sim.url, "GET", "/notifications")).json.data;
    expect(delivery).toMatchObject({ attempts: 9, acknowledged: false, abandoned: true });
  });

  it("signs notifications with the WeChat Pay public key in public_key mode", async () => {
    h = await startHarness({ mode: "public_key" });
    receiver = await startReceiver();
    await h.client.post(CALLBACKS, { mchid: h.mchid, notify_url: receiver.url });
    const { couponId } = await issue(h);
    await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    await receiver.waitFor(1);
    const [n] = receiver.received;
    expect(n!.headers["wechatpay-serial"]).toBe(h.sim.config.wechatpay_public_key_id);
    expect(verifyNotification(n!.headers, n!.body, h.sim.config.keys.wechatpayPublicKeyPem)).toBe(true);
  });

  it("sends nothing when the switch is off", async () => {
    h = await startHarness();
    receiver = await startReceiver();
    await h.client.post(CALLBACKS, { mchid: h.mchid, notify_url: receiver.url, switch: false });
    const { couponId } = await issue(h);
    const used = await control(h.sim.url, "POST", `/coupons/${couponId}/use`, {});
    expect(used.json.notification_id).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.received).toHaveLength(0);
  });
});
