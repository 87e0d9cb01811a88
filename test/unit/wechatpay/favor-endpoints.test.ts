import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createWechatPayClient, type WechatPayClient } from "#shared/wechatpay/client.js";
import { encryptAeadAesGcm } from "#shared/wechatpay/crypto/aead-aes-gcm.js";
import { buildRequestMessage } from "#shared/wechatpay/crypto/messages.js";
import { verifyMessage } from "#shared/wechatpay/crypto/rsa-sha256.js";
import {
  PlatformCertificateError,
  SignatureVerificationError,
  WechatPayValidationError,
} from "#shared/wechatpay/errors.js";
import { parseNotification } from "#shared/wechatpay/notify/parse-notification.js";
import {
  TEST_CERTIFICATE_D7CE_PEM,
  TEST_PUBLIC_KEY_PEM,
  testPrivateKeyPem,
  V4_CERTIFICATE_DOWNLOAD,
  V5C_COUPON_USE,
  v5cEnvelopeBody,
} from "../../fixtures/vectors/public-vectors.js";
import {
  type FakeHandler,
  FakeWechatServer,
  MERCHANT,
  NOW_MS,
  parseAuthorization,
  type RecordedRequest,
  TEST_PUBLIC_KEY_ID,
  testPublicKey,
} from "./helpers/fake-wechat-server.js";

const APIV3_KEY = V5C_COUPON_USE.apiv3Key;
const servers: FakeWechatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function setup(handler: FakeHandler, mode: "public_key" | "certificate" = "public_key") {
  const server = await new FakeWechatServer(handler).start();
  servers.push(server);
  const client = createWechatPayClient({
    mchid: MERCHANT.mchid,
    merchantSerialNo: MERCHANT.serialNo,
    merchantPrivateKey: testPrivateKeyPem(),
    apiv3Key: mode === "public_key" ? APIV3_KEY : V4_CERTIFICATE_DOWNLOAD.apiv3Key,
    ...(mode === "public_key" ? { wechatpayPublicKey: { id: TEST_PUBLIC_KEY_ID, pem: TEST_PUBLIC_KEY_PEM } } : {}),
    baseUrl: server.url,
    backupBaseUrl: server.url,
    now: () => NOW_MS,
    sleep: async () => {},
  });
  return { server, client };
}

function verifiesAsMerchant(request: RecordedRequest, signedBody: string): boolean {
  const auth = parseAuthorization(request.headers.authorization);
  const message = buildRequestMessage(request.method, request.url, Number(auth.timestamp), auth.nonce_str!, signedBody);
  return verifyMessage(message, auth.signature!, testPublicKey);
}

describe("cash-coupon endpoints: paths, queries and bodies", () => {
  const echo: FakeHandler = (request) => ({ body: JSON.stringify({ echo: request.url }) });
  type Call = [string, (c: WechatPayClient) => Promise<unknown>, string, string, string | undefined];
  const calls: Call[] = [
    [
      "E2 start",
      (c) => c.stocks.start("9856000"),
      "POST",
      "/v3/marketing/favor/stocks/9856000/start",
      '{"stock_creator_mchid":"8956000"}',
    ],
    [
      "E3 pause (other creator)",
      (c) => c.stocks.pause("9856000", { stock_creator_mchid: "1234" }),
      "POST",
      "/v3/marketing/favor/stocks/9856000/pause",
      '{"stock_creator_mchid":"1234"}',
    ],
    ["E4 restart", (c) => c.stocks.restart("9856000"), "POST", "/v3/marketing/favor/stocks/9856000/restart", undefined],
    ["E5 stop", (c) => c.stocks.stop("9856000"), "POST", "/v3/marketing/favor/stocks/9856000/stop", undefined],
    [
      "E6 send",
      (c) =>
        c.coupons.send("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", { stock_id: "9856000", out_request_no: "a-1", appid: "wx1" }),
      "POST",
      "/v3/marketing/favor/users/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/coupons",
      '{"stock_id":"9856000","out_request_no":"a-1","appid":"wx1","stock_creator_mchid":"8956000"}',
    ],
    [
      "E7 list stocks",
      (c) => c.stocks.list({ offset: 0, limit: 10, create_start_time: "2024-05-20T00:00:00+08:00", status: "running" }),
      "GET",
      "/v3/marketing/favor/stocks?offset=0&limit=10&stock_creator_mchid=8956000&create_start_time=2024-05-20T00%3A00%3A00%2B08%3A00&status=running",
      "",
    ],
    [
      "E8 stock detail",
      (c) => c.stocks.get("9856000"),
      "GET",
      "/v3/marketing/favor/stocks/9856000?stock_creator_mchid=8956000",
      "",
    ],
    [
      "E9 coupon detail",
      (c) => c.coupons.get("o-1", "98674556", { appid: "wx1" }),
      "GET",
      "/v3/marketing/favor/users/o-1/coupons/98674556?appid=wx1",
      "",
    ],
    [
      "E10 merchants",
      (c) => c.stocks.merchants("9856000", { offset: 1000, limit: 50 }),
      "GET",
      "/v3/marketing/favor/stocks/9856000/merchants?offset=1000&limit=50&stock_creator_mchid=8956000",
      "",
    ],
    [
      "E11 items",
      (c) => c.stocks.items("9856000", { offset: 500, limit: 100 }),
      "GET",
      "/v3/marketing/favor/stocks/9856000/items?offset=500&limit=100&stock_creator_mchid=8956000",
      "",
    ],
    [
      "E12 user coupons",
      (c) => c.coupons.list("o-1", { appid: "wx1", creator_mchid: "8956000", status: "SENDED", offset: 0, limit: 20 }),
      "GET",
      "/v3/marketing/favor/users/o-1/coupons?appid=wx1&status=SENDED&creator_mchid=8956000&offset=0&limit=20",
      "",
    ],
    [
      "E13 use-flow link",
      (c) => c.flows.useFlowLink("9856000"),
      "GET",
      "/v3/marketing/favor/stocks/9856000/use-flow",
      "",
    ],
    [
      "E14 refund-flow link",
      (c) => c.flows.refundFlowLink("9856000"),
      "GET",
      "/v3/marketing/favor/stocks/9856000/refund-flow",
      "",
    ],
    [
      "E15 set callback",
      (c) => c.callbacks.set({ notify_url: "https://example.com/notify", switch: true }),
      "POST",
      "/v3/marketing/favor/callbacks",
      '{"mchid":"8956000","notify_url":"https://example.com/notify","switch":true}',
    ],
    ["E16 get callback", (c) => c.callbacks.get(), "GET", "/v3/marketing/favor/callbacks?mchid=8956000", ""],
  ];

  it.each(calls)("%s", async (_name, call, method, url, body) => {
    const flowLink: FakeHandler = (request, server) =>
      /-flow$/.test(request.url)
        ? { body: JSON.stringify({ url: `${server.url}/f`, hash_value: "x", hash_type: "SHA1" }) }
        : echo(request, server);
    const { server, client } = await setup(flowLink);
    await call(client);
    const [request] = server.requests;
    expect(request!.method).toBe(method);
    expect(request!.url).toBe(url);
    if (body !== undefined) expect(request!.body.toString("utf8")).toBe(body);
    expect(verifiesAsMerchant(request!, request!.body.toString("utf8"))).toBe(true);
  });

  it("E1 create stock posts the caller's body once validated", async () => {
    const { server, client } = await setup(() => ({
      body: '{"stock_id":"98065001","create_time":"2024-05-21T10:00:06+08:00"}',
    }));
    const body = {
      stock_name: "新客立减",
      belong_merchant: "8956000",
      available_begin_time: "2024-05-22T00:00:00+08:00",
      available_end_time: "2024-06-20T23:59:59+08:00",
      stock_use_rule: {
        max_coupons: 100,
        max_amount: 10_000,
        max_coupons_per_user: 1,
        natural_person_limit: false,
        prevent_api_abuse: false,
      },
      coupon_use_rule: { fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 } },
      no_cash: false,
      stock_type: "NORMAL" as const,
      out_request_no: "8956000-20240521-1",
    };
    await expect(client.stocks.create(body)).resolves.toEqual({
      stock_id: "98065001",
      create_time: "2024-05-21T10:00:06+08:00",
    });
    expect(JSON.parse(server.requests[0]!.body.toString())).toEqual(body);
    expect(server.requests[0]!.url).toBe("/v3/marketing/favor/coupon-stocks");
  });

  it("percent-encodes path parameters and validates them before any request", async () => {
    const { server, client } = await setup(() => ({ body: "{}" }));
    await expect(client.stocks.get("98/../1")).rejects.toMatchObject({ field: "stock_id" });
    await expect(client.coupons.get("", "1", { appid: "wx1" })).rejects.toMatchObject({ field: "openid" });
    await expect(client.coupons.get("o", "a b", { appid: "wx1" })).rejects.toMatchObject({ field: "coupon_id" });
    expect(server.requests).toHaveLength(0);
  });
});

describe("E17 image upload", () => {
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.from("pixels\r\n--x"),
  ]);

  it("sends multipart/form-data with a meta part and a file part, signed over the meta JSON", async () => {
    const { server, client } = await setup(() => ({ body: '{"media_url":"https://wxpaylogo.qpic.cn/wxpaylogo/x/0"}' }));
    const { media_url } = await client.media.uploadImage({ filename: "logo.png", bytes: png });
    expect(media_url).toMatch(/^https:/);
    const [request] = server.requests;
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(request!.headers["content-type"] ?? "")?.[1];
    expect(boundary).toBeDefined();
    const meta = JSON.stringify({ filename: "logo.png", sha256: createHash("sha256").update(png).digest("hex") });
    const expected = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="meta";\r\nContent-Type: application/json\r\n\r\n${meta}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="logo.png";\r\nContent-Type: image/png\r\n\r\n`,
      ),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(request!.body.equals(expected)).toBe(true);
    expect(verifiesAsMerchant(request!, meta)).toBe(true);
    expect(verifiesAsMerchant(request!, request!.body.toString("utf8"))).toBe(false);
  });

  it.each([
    ["logo.gif", png, "filename"],
    ["logo.jpg", png, "file"],
    ["logo.png", Buffer.alloc(0), "file"],
    ["logo.png", Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]), "file"],
  ])("refuses %s (%#) naming %s before any request", async (filename, bytes, field) => {
    const { server, client } = await setup(() => ({ body: "{}" }));
    await expect(client.media.uploadImage({ filename, bytes })).rejects.toMatchObject({ field });
    expect(server.requests).toHaveLength(0);
  });
});

describe("platform certificates (certificate mode)", () => {
  const item = {
    serial_no: V4_CERTIFICATE_DOWNLOAD.serialNo,
    effective_time: V4_CERTIFICATE_DOWNLOAD.effectiveTime,
    expire_time: V4_CERTIFICATE_DOWNLOAD.expireTime,
    encrypt_certificate: {
      algorithm: "AEAD_AES_256_GCM",
      nonce: V4_CERTIFICATE_DOWNLOAD.nonce,
      associated_data: "certificate",
      ciphertext: V4_CERTIFICATE_DOWNLOAD.ciphertext,
    },
  };
  const certificatesReply =
    (items: unknown[]): FakeHandler =>
    (request) =>
      request.url === "/v3/certificates"
        ? { body: JSON.stringify({ data: items }), sign: { serial: "D7CE59D1F522D701" } }
        : { body: '{"stock_id":"1"}', sign: { serial: "D7CE59D1F522D701" } };

  it("downloads certificates on first need, verifies with them, and sends their serial afterwards", async () => {
    const { server, client } = await setup(certificatesReply([item]), "certificate");
    await client.stocks.get("1");
    await client.stocks.get("1");
    expect(server.requests.map((r) => r.url.split("?")[0])).toEqual([
      "/v3/marketing/favor/stocks/1",
      "/v3/certificates",
      "/v3/marketing/favor/stocks/1",
    ]);
    expect(server.requests[0]!.headers["wechatpay-serial"]).toBeUndefined();
    expect(server.requests[2]!.headers["wechatpay-serial"]).toBe("D7CE59D1F522D701");
    expect(client.verificationKeys.knownSerials).toEqual(["D7CE59D1F522D701"]);
  });

  it("returns the opened certificates from certificates.download()", async () => {
    const { client } = await setup(certificatesReply([item]), "certificate");
    const [certificate] = await client.certificates.download();
    expect(certificate!.serialNo).toBe("D7CE59D1F522D701");
    expect(certificate!.pem.trim()).toBe(TEST_CERTIFICATE_D7CE_PEM.trim());
  });

  it("refuses a certificate whose decrypted serial differs from serial_no", async () => {
    const { client } = await setup(certificatesReply([{ ...item, serial_no: "0123456789ABCDEF" }]), "certificate");
    await expect(client.certificates.download()).rejects.toBeInstanceOf(PlatformCertificateError);
  });

  it("refuses a certificate list whose signature fails once a key is known", async () => {
    const { server, client } = await setup(certificatesReply([item]), "certificate");
    await client.certificates.download();
    server.setHandler((request) => ({
      body: JSON.stringify({ data: [item] }),
      sign: { serial: "D7CE59D1F522D701", signedBody: `${request.url}tampered` },
    }));
    await expect(client.certificates.download()).rejects.toBeInstanceOf(SignatureVerificationError);
  });

  it("refuses a certificate encrypted with another APIv3 key", async () => {
    const forged = {
      ...item,
      encrypt_certificate: {
        ...item.encrypt_certificate,
        ciphertext: encryptAeadAesGcm({
          key: "another16bytekey",
          nonce: item.encrypt_certificate.nonce,
          associatedData: "certificate",
          plaintext: TEST_CERTIFICATE_D7CE_PEM,
        }),
      },
    };
    const { client } = await setup(certificatesReply([forged]), "certificate");
    await expect(client.certificates.download()).rejects.toMatchObject({ code: "DECRYPTION_FAILED" });
  });
});

describe("createWechatPayClient", () => {
  it("hands its verification keys to the notification parser (V5c COUPON.USE)", async () => {
    const { client } = await setup(() => ({ body: "{}" }));
    const keys = createWechatPayClient({
      mchid: "8956000",
      merchantSerialNo: MERCHANT.serialNo,
      merchantPrivateKey: MERCHANT.privateKey,
      apiv3Key: APIV3_KEY,
      platformCertificates: [TEST_CERTIFICATE_D7CE_PEM],
      now: () => V5C_COUPON_USE.now * 1000,
    });
    const parsed = await parseNotification<{ coupon_id: string }>(
      { headers: V5C_COUPON_USE.headers, body: v5cEnvelopeBody() },
      { verificationKeys: keys.verificationKeys, apiv3Key: APIV3_KEY },
      V5C_COUPON_USE.now,
    );
    expect(parsed.resource.coupon_id).toBe("98674556");
    expect(client.verificationKeys.knownSerials).toEqual([TEST_PUBLIC_KEY_ID]);
  });

  it.each([
    [{ mchid: "abc" }, "mchid"],
    [{ merchantSerialNo: "not hex" }, "merchantSerialNo"],
    [{ apiv3Key: "short" }, "apiv3Key"],
    [{ wechatpayPublicKey: { id: "F5765756002FDD77", pem: TEST_PUBLIC_KEY_PEM } }, "wechatpayPublicKey.id"],
  ])("refuses bad options %j naming %s, without echoing secrets", (override, field) => {
    const create = () =>
      createWechatPayClient({
        mchid: "8956000",
        merchantSerialNo: MERCHANT.serialNo,
        merchantPrivateKey: MERCHANT.privateKey,
        apiv3Key: APIV3_KEY,
        ...override,
      });
    expect(create).toThrow(WechatPayValidationError);
    try {
      create();
    } catch (error) {
      expect((error as WechatPayValidationError).field).toBe(field);
      expect((error as Error).message).not.toContain(APIV3_KEY);
    }
  });
});
