import { createPublicKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "#local/simulator/index.js";
import { TestClient } from "./helpers/client.js";
import { type Harness, startHarness } from "./helpers/setup.js";
import { decryptResource, verifyWechatSignature } from "./helpers/signer.js";

const CERTS = "/v3/certificates";

describe("request signature checks", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.stop());

  it("accepts a correctly signed request", async () => {
    const res = await h.client.get(CERTS);
    expect(res.status).toBe(200);
  });

  it("refuses a tampered signature with 401 SIGN_ERROR and WeChat's detail shape", async () => {
    const res = await h.client.get("/v3/certificates?algorithm_type=RSA", {
      headers: {
        Authorization: `WECHATPAY2-SHA256-RSA2048 mchid="${h.mchid}",nonce_str="abc",timestamp="${Math.floor(Date.now() / 1000)}",serial_no="${h.sim.config.merchant_serial_no}",signature="AAAA"`,
      },
    });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("SIGN_ERROR");
    expect(res.json.detail).toMatchObject({
      field: "signature",
      location: "authorization",
      detail: { issue: "sign not match" },
      sign_information: { method: "GET", url: "/v3/certificates?algorithm_type=RSA" },
    });
    expect(res.json.detail.sign_information.truncated_sign_message).toMatch(
      /^GET\n\/v3\/certificates\?algorithm_type=RSA\n\d+\nabc\n\n$/,
    );
    expect(res.headers.get("wechatpay-signature")).toBeNull();
    expect(res.headers.get("request-id")).toMatch(/^[0-9A-F]{32}$/);
  });

  it("refuses a body that differs from the signed one", async () => {
    const res = await h.client.post(
      "/v3/marketing/favor/callbacks",
      { mchid: h.mchid, notify_url: "https://example.com/notify" },
      { tamperSignedBody: JSON.stringify({ mchid: h.mchid, notify_url: "https://evil.example.com/notify" }) },
    );
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("SIGN_ERROR");
  });

  it("refuses a timestamp outside ±300 s", async () => {
    const stale = await h.client.get(CERTS, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(401);
    expect(stale.json.detail.field).toBe("timestamp");
    const future = await h.client.get(CERTS, { timestamp: Math.floor(Date.now() / 1000) + 301 });
    expect(future.status).toBe(401);
    const edge = await h.client.get(CERTS, { timestamp: Math.floor(Date.now() / 1000) - 250 });
    expect(edge.status).toBe(200);
  });

  it("refuses an unknown serial_no and an unknown mchid", async () => {
    const serial = await h.client.get(CERTS, { serialNo: "0123456789ABCDEF0123456789ABCDEF01234567" });
    expect(serial.status).toBe(401);
    expect(serial.json.detail.field).toBe("serial_no");
    const mchid = await h.client.get(CERTS, { mchid: "1999999999" });
    expect(mchid.status).toBe(401);
    expect(mchid.json.detail.field).toBe("mchid");
  });

  it("refuses a missing Authorization header", async () => {
    const res = await h.client.get(CERTS, { noAuth: true });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("SIGN_ERROR");
  });

  it("answers 400 INVALID_REQUEST when Accept or User-Agent is missing", async () => {
    for (const options of [{ noAccept: true }, { noUserAgent: true }]) {
      const res = await h.client.get(CERTS, options);
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ code: "INVALID_REQUEST", message: "Http头缺少Accept或User-Agent" });
    }
  });

  it("counts signature failures in the stats", () => {
    expect(h.sim.stats().signature_failures).toBeGreaterThanOrEqual(6);
  });

  it("answers 404 for a path WeChat does not have", async () => {
    const res = await h.client.get("/v3/marketing/favor/nothing");
    expect(res.status).toBe(404);
  });
});

describe("response signatures and /v3/certificates", () => {
  it("signs with the platform certificate in platform_certificate mode, and decrypts the certificate", async () => {
    const h = await startHarness({ mode: "platform_certificate" });
    try {
      const res = await h.client.get(CERTS);
      const platform = createPublicKey(h.sim.config.keys.platformCertificatePem);
      expect(res.headers.get("wechatpay-serial")).toBe(h.sim.config.platform_certificate_serial);
      expect(res.headers.get("wechatpay-serial")).toMatch(/^[0-9A-F]{40}$/);
      expect(res.headers.get("wechatpay-signature-type")).toBe("WECHATPAY2-SHA256-RSA2048");
      expect(verifyWechatSignature(res.headers, res.text, platform)).toBe(true);
      expect(verifyWechatSignature(res.headers, `${res.text} `, platform)).toBe(false);
      const [entry] = res.json.data;
      expect(entry.serial_no).toBe(h.sim.config.platform_certificate_serial);
      expect(entry.encrypt_certificate).toMatchObject({
        algorithm: "AEAD_AES_256_GCM",
        associated_data: "certificate",
      });
      expect(entry.effective_time).toMatch(/\+08:00$/);
      const pem = decryptResource(h.sim.config.apiv3_key, entry.encrypt_certificate);
      expect(pem).toBe(h.sim.config.keys.platformCertificatePem);
      const sm2 = await h.client.get(`${CERTS}?algorithm_type=SM2`);
      expect(sm2.json).toEqual({ data: [] });
    } finally {
      await h.sim.stop();
    }
  });

  it("signs with the WeChat Pay public key in public_key mode", async () => {
    const h = await startHarness({ mode: "public_key" });
    try {
      const res = await h.client.get(CERTS);
      expect(res.headers.get("wechatpay-serial")).toBe(h.sim.config.wechatpay_public_key_id);
      expect(res.headers.get("wechatpay-serial")).toMatch(/^PUB_KEY_ID_0114\d{30}$/);
      expect(verifyWechatSignature(res.headers, res.text, h.sim.config.keys.wechatpayPublicKey)).toBe(true);
      // error answers after a verified request are signed too
      const bad = await h.client.get("/v3/marketing/favor/stocks?offset=0&limit=11&stock_creator_mchid=1900000001");
      expect(bad.status).toBe(400);
      expect(bad.json.message).toBe("页大小超过阈值");
      expect(verifyWechatSignature(bad.headers, bad.text, h.sim.config.keys.wechatpayPublicKey)).toBe(true);
    } finally {
      await h.sim.stop();
    }
  });

  it("answers with the key the request's Wechatpay-Serial names (migration)", async () => {
    const h = await startHarness({ mode: "public_key" });
    try {
      const platform = await h.client.get(CERTS, {
        headers: { "Wechatpay-Serial": h.sim.config.platform_certificate_serial },
      });
      expect(platform.headers.get("wechatpay-serial")).toBe(h.sim.config.platform_certificate_serial);
      expect(verifyWechatSignature(platform.headers, platform.text, h.sim.config.keys.platformPublicKey)).toBe(true);
      const unknown = await h.client.get(CERTS, { headers: { "Wechatpay-Serial": "PUB_KEY_ID_0000" } });
      expect(unknown.headers.get("wechatpay-serial")).toBe(h.sim.config.wechatpay_public_key_id);
    } finally {
      await h.sim.stop();
    }
  });

  it("signs an empty-body answer over ts\\nnonce\\n\\n", async () => {
    // 204s do not occur on the cash-coupon API; check the rule on the signer directly through a 200 with body instead
    // and the empty-body message shape through the crypto helper.
    const { responseSignMessage } = await import("#local/simulator/crypto/messages.js");
    expect(responseSignMessage("1", "n", "")).toBe("1\nn\n\n");
  });

  it("lets a pinned clock drive request verification", async () => {
    const pinned = Date.parse("2030-01-01T00:00:00Z");
    const sim = await startSimulator({ port: 0, now: () => pinned });
    try {
      const client = new TestClient(
        sim.url,
        {
          mchid: sim.config.mchid,
          serialNo: sim.config.merchant_serial_no,
          privateKey: sim.config.keys.merchantPrivateKey,
        },
        () => pinned,
      );
      const ok = await client.get(CERTS);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("wechatpay-timestamp")).toBe(String(pinned / 1000));
      const wallClock = await client.get(CERTS, { timestamp: Math.floor(Date.now() / 1000) });
      expect(wallClock.status).toBe(401);
    } finally {
      await sim.stop();
    }
  });
});
