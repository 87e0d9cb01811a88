import { afterEach, describe, expect, it, vi } from "vitest";
import { formatAuthorization } from "#shared/wechatpay/auth/authorization.js";
import { WechatpayVerificationKeys } from "#shared/wechatpay/auth/wechatpay-verifier.js";
import { buildRequestMessage } from "#shared/wechatpay/crypto/messages.js";
import { verifyMessage } from "#shared/wechatpay/crypto/rsa-sha256.js";
import { SignatureVerificationError, TransportError, WechatPayApiError } from "#shared/wechatpay/errors.js";
import {
  type ApiRequest,
  WechatPayHttpClient,
  type WechatPayHttpClientOptions,
} from "#shared/wechatpay/transport/http-client.js";
import { nodeHttpSend } from "#shared/wechatpay/transport/node-http-send.js";
import { V5A_SEND_COUPON, V5B_LIST_STOCKS } from "../../fixtures/vectors/public-vectors.js";
import {
  type FakeHandler,
  FakeWechatServer,
  MERCHANT,
  NOW_MS,
  parseAuthorization,
  publicKeyMode,
  refusedBaseUrl,
  TEST_PUBLIC_KEY_ID,
  testPublicKey,
} from "./helpers/fake-wechat-server.js";

const servers: FakeWechatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(handler: FakeHandler): Promise<FakeWechatServer> {
  const server = await new FakeWechatServer(handler).start();
  servers.push(server);
  return server;
}

function clientFor(server: FakeWechatServer, options: Partial<WechatPayHttpClientOptions> = {}) {
  const sleeps: number[] = [];
  const keys = publicKeyMode();
  const client = new WechatPayHttpClient({
    credentials: MERCHANT,
    verificationKeys: keys,
    wechatpaySerial: () => keys.knownSerials[0],
    baseUrl: server.url,
    backupBaseUrl: server.url,
    now: () => NOW_MS,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, sleeps };
}

const ok: FakeHandler = () => ({ body: '{"ok":true}' });
const send: ApiRequest = {
  method: "POST",
  path: V5A_SEND_COUPON.canonicalUrl,
  json: JSON.parse(V5A_SEND_COUPON.body),
  idempotent: true,
};

describe("WechatPayHttpClient: request signing", () => {
  it("signs a GET over the canonical URL exactly as sent, matching vector V5b", async () => {
    const server = await serve(ok);
    const { client } = clientFor(server, {
      now: () => V5B_LIST_STOCKS.timestamp * 1000,
      nonce: () => V5B_LIST_STOCKS.nonce,
    });
    server.now = V5B_LIST_STOCKS.timestamp * 1000;
    await client.request({
      method: "GET",
      path: "/v3/marketing/favor/stocks",
      query: { offset: 0, limit: 10, stock_creator_mchid: "8956000", status: undefined },
    });
    const [request] = server.requests;
    expect(request!.url).toBe(V5B_LIST_STOCKS.canonicalUrl);
    expect(request!.headers.authorization).toBe(
      formatAuthorization(MERCHANT, V5B_LIST_STOCKS, V5B_LIST_STOCKS.signature),
    );
    expect(request!.headers.accept).toBe("application/json");
    expect(request!.headers["content-type"]).toBeUndefined();
    expect(request!.headers["user-agent"]).toMatch(/^wxcoupon\//);
    expect(request!.headers["wechatpay-serial"]).toBe(TEST_PUBLIC_KEY_ID);
  });

  it("signs a POST over the exact body bytes, matching vector V5a", async () => {
    const server = await serve(ok);
    server.now = V5A_SEND_COUPON.timestamp * 1000;
    const { client } = clientFor(server, {
      now: () => V5A_SEND_COUPON.timestamp * 1000,
      nonce: () => V5A_SEND_COUPON.nonce,
    });
    await client.request(send);
    const [request] = server.requests;
    expect(request!.body.toString("utf8")).toBe(V5A_SEND_COUPON.body);
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers.authorization).toBe(
      formatAuthorization(MERCHANT, V5A_SEND_COUPON, V5A_SEND_COUPON.signature),
    );
  });

  it("URL-encodes query values, and signs the encoded form (rfc3339 +08:00 → %2B08%3A00)", async () => {
    const server = await serve(ok);
    const { client } = clientFor(server);
    await client.request({
      method: "GET",
      path: "/v3/marketing/favor/stocks",
      query: { offset: 0, limit: 10, create_start_time: "2024-05-20T00:00:00+08:00", note: "a b&c" },
    });
    const [request] = server.requests;
    expect(request!.url).toBe(
      "/v3/marketing/favor/stocks?offset=0&limit=10&create_start_time=2024-05-20T00%3A00%3A00%2B08%3A00&note=a+b%26c",
    );
    const auth = parseAuthorization(request!.headers.authorization);
    expect(Object.keys(auth).sort()).toEqual(["mchid", "nonce_str", "serial_no", "signature", "timestamp"]);
    expect(auth).toMatchObject({
      mchid: MERCHANT.mchid,
      serial_no: MERCHANT.serialNo,
      timestamp: String(NOW_MS / 1000),
    });
    expect(auth.nonce_str).toMatch(/^[0-9A-Za-z]{32}$/);
    const message = buildRequestMessage("GET", request!.url, Number(auth.timestamp), auth.nonce_str!, "");
    expect(verifyMessage(message, auth.signature!, testPublicKey)).toBe(true);
  });
});

describe("WechatPayHttpClient: response verification", () => {
  it("returns the verified, parsed answer with its Request-ID", async () => {
    const server = await serve(() => ({ body: '{"stock_id":"1"}' }));
    const { client } = clientFor(server);
    const response = await client.request<{ stock_id: string }>({ method: "GET", path: "/v3/x" });
    expect(response.data).toEqual({ stock_id: "1" });
    expect(response.requestId).toBe("req-1");
    expect(response.rawBody).toBe('{"stock_id":"1"}');
  });

  it("verifies an empty 204 answer over an empty body", async () => {
    const server = await serve(() => ({ status: 204 }));
    const { client } = clientFor(server);
    const response = await client.request({ method: "POST", path: "/v3/x", json: {} });
    expect(response.status).toBe(204);
    expect(response.data).toBeUndefined();
  });

  it.each([
    ["a tampered body", { signedBody: '{"coupon_id":"2"}' }, "SIGNATURE_MISMATCH"],
    ["a tampered signature", { signature: "AAAA" }, "SIGNATURE_MISMATCH"],
    ["a timestamp 300 s old", { timestamp: NOW_MS / 1000 - 300 }, "TIMESTAMP_OUT_OF_WINDOW"],
    ["a timestamp 300 s ahead", { timestamp: NOW_MS / 1000 + 300 }, "TIMESTAMP_OUT_OF_WINDOW"],
    ["a WECHATPAY/SIGNTEST/ probe", { signature: "WECHATPAY/SIGNTEST/abc" }, "SIGNATURE_PROBE"],
    ["an unknown public key id", { serial: "PUB_KEY_ID_0000000000000000000000000000000099" }, "UNKNOWN_SERIAL"],
  ] as const)("rejects %s", async (_name, signing, reason) => {
    const server = await serve(() => ({ body: '{"coupon_id":"1"}', sign: signing }));
    const { client } = clientFor(server);
    const error = await client.request(send).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignatureVerificationError);
    expect((error as SignatureVerificationError).reason).toBe(reason);
    expect(server.requests).toHaveLength(1); // an untrusted answer is never retried
  });

  it("accepts a timestamp 299 s away", async () => {
    const server = await serve(() => ({ body: "{}", sign: { timestamp: NOW_MS / 1000 - 299 } }));
    await expect(clientFor(server).client.request({ method: "GET", path: "/v3/x" })).resolves.toBeDefined();
  });

  it("rejects a 2xx answer without signature headers", async () => {
    const server = await serve(() => ({ body: "{}", sign: false }));
    const error = await clientFor(server)
      .client.request({ method: "GET", path: "/v3/x" })
      .catch((e: unknown) => e);
    expect((error as SignatureVerificationError).reason).toBe("MISSING_HEADER");
  });

  it("downloads certificates once for an unknown serial, then verifies with the new certificate", async () => {
    const server = await serve(() => ({ body: "{}", sign: { serial: "D7CE59D1F522D701" } }));
    const download = vi.fn(async () => new Map([["D7CE59D1F522D701", testPublicKey]]));
    const keys = new WechatpayVerificationKeys({ downloadCertificates: download });
    const { client } = clientFor(server, { verificationKeys: keys });
    await client.request({ method: "GET", path: "/v3/x" });
    await client.request({ method: "GET", path: "/v3/x" });
    expect(download).toHaveBeenCalledTimes(1);
  });

  it("refreshes only once, then fails, when the serial stays unknown", async () => {
    const server = await serve(() => ({ body: "{}", sign: { serial: "0123456789ABCDEF" } }));
    const download = vi.fn(async () => new Map([["D7CE59D1F522D701", testPublicKey]]));
    const keys = new WechatpayVerificationKeys({ downloadCertificates: download });
    const error = await clientFor(server, { verificationKeys: keys })
      .client.request({ method: "GET", path: "/v3/x" })
      .catch((e: unknown) => e);
    expect((error as SignatureVerificationError).reason).toBe("UNKNOWN_SERIAL");
    expect(download).toHaveBeenCalledTimes(1);
  });
});

describe("WechatPayHttpClient: error answers", () => {
  it("maps {code, message, detail} and the Request-ID onto WechatPayApiError", async () => {
    const detail = { field: "/stock_id", location: "body", issue: "missing" };
    const server = await serve(() => ({
      status: 400,
      body: JSON.stringify({ code: "PARAM_ERROR", message: "批次号必填", detail }),
    }));
    const error = await clientFor(server)
      .client.request(send)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPayApiError);
    expect(error).toMatchObject({ statusCode: 400, code: "PARAM_ERROR", detail, requestId: "req-1", retryable: false });
    expect((error as Error).message).toContain("批次号必填");
  });

  it("tolerates a non-JSON error body: code HTTP_<status>", async () => {
    const server = await serve(() => ({
      status: 502,
      body: "<html>Bad Gateway</html>",
      headers: { "Content-Type": "text/html" },
    }));
    const error = await clientFor(server, { maxAttempts: 1 })
      .client.request({ method: "GET", path: "/v3/x" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 502, code: "HTTP_502", retryable: true });
  });

  it.each([
    [400, "PARAM_ERROR", false],
    [401, "SIGN_ERROR", false],
    [403, "NOT_ENOUGH", false],
    [404, "RESOURCE_NOT_EXISTS", false],
    [429, "FREQUENCY_LIMIT_EXCEED", true],
    [500, "SYSTEM_ERROR", true],
    [503, "SERVICE_UNAVAILABLE", true],
  ])("HTTP %i %s is retryable: %s", async (status, code, retryable) => {
    const server = await serve(() => ({ status, body: JSON.stringify({ code, message: "x" }) }));
    const error = await clientFor(server, { maxAttempts: 1 })
      .client.request({ method: "GET", path: "/v3/x" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: status, code, retryable });
  });
});

describe("WechatPayHttpClient: timeouts, retries and failover", () => {
  it("gives up after timeoutMs with TransportError{timedOut}", async () => {
    const server = await serve(() => ({ hang: true }));
    const error = await clientFor(server, { timeoutMs: 50, maxAttempts: 1 })
      .client.request({ method: "GET", path: "/v3/x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(error).toMatchObject({ timedOut: true, code: "TIMEOUT" });
  });

  it("takes a per-request timeout over the client's", async () => {
    const server = await serve(() => ({ hang: true }));
    const error = await clientFor(server, { timeoutMs: 60_000, maxAttempts: 1 })
      .client.request({ method: "GET", path: "/v3/x", timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ timedOut: true, message: expect.stringContaining("50 ms") });
  });

  it("retries a GET on 5xx and 429 with full-jitter exponential back-off", async () => {
    const statuses = [500, 429];
    const server = await serve(() => {
      const status = statuses.shift();
      return status ? { status, body: '{"code":"SYSTEM_ERROR","message":"系统异常"}' } : { body: "{}" };
    });
    const { client, sleeps } = clientFor(server);
    await client.request({ method: "GET", path: "/v3/x" });
    expect(server.requests).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]); // random 0.5 × 200 ms × 2^(attempt-1)
  });

  it("hands a 429 straight back when the caller rate-limits itself (retryRateLimited: false)", async () => {
    const server = await serve(() => ({ status: 429, body: '{"code":"FREQUENCY_LIMITED","message":"x"}' }));
    const { client, sleeps } = clientFor(server, { retryRateLimited: false });
    await expect(client.request({ method: "GET", path: "/v3/x" })).rejects.toMatchObject({ statusCode: 429 });
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("stops after maxAttempts and throws the last error", async () => {
    const server = await serve(() => ({ status: 500, body: '{"code":"SYSTEM_ERROR","message":"x"}' }));
    const error = await clientFor(server, { maxAttempts: 4 })
      .client.request({ method: "GET", path: "/v3/x" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "SYSTEM_ERROR" });
    expect(server.requests).toHaveLength(4);
  });

  it("never retries a POST without out_request_no", async () => {
    const server = await serve(() => ({ status: 500, body: '{"code":"SYSTEM_ERROR","message":"x"}' }));
    const { client, sleeps } = clientFor(server);
    await expect(
      client.request({
        method: "POST",
        path: "/v3/marketing/favor/stocks/1/start",
        json: { stock_creator_mchid: "1" },
      }),
    ).rejects.toMatchObject({ code: "SYSTEM_ERROR" });
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("retries a send carrying out_request_no with the identical body, freshly signed", async () => {
    let first = true;
    const server = await serve(() => {
      if (first) {
        first = false;
        return { status: 503, body: '{"code":"SYSTEM_ERROR","message":"x"}' };
      }
      return { body: '{"coupon_id":"9867041"}' };
    });
    let n = 0;
    const { client } = clientFor(server, { nonce: () => `nonce${++n}` });
    const { data } = await client.request<{ coupon_id: string }>(send);
    expect(data.coupon_id).toBe("9867041");
    const [a, b] = server.requests;
    expect(b!.body.equals(a!.body)).toBe(true);
    expect(b!.body.toString()).toBe(V5A_SEND_COUPON.body);
    expect(parseAuthorization(a!.headers.authorization).nonce_str).toBe("nonce1");
    expect(parseAuthorization(b!.headers.authorization).nonce_str).toBe("nonce2");
  });

  it("does not retry a 4xx even for a GET", async () => {
    const server = await serve(() => ({ status: 404, body: '{"code":"RESOURCE_NOT_EXISTS","message":"批次不存在"}' }));
    await expect(clientFor(server).client.request({ method: "GET", path: "/v3/x" })).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(server.requests).toHaveLength(1);
  });

  it("fails over to the backup host when the primary refuses connections", async () => {
    const server = await serve(() => ({ body: '{"coupon_id":"1"}' }));
    const { client } = clientFor(server, { baseUrl: await refusedBaseUrl(), backupBaseUrl: server.url });
    const { data } = await client.request<{ coupon_id: string }>(send);
    expect(data.coupon_id).toBe("1");
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body.toString()).toBe(V5A_SEND_COUPON.body);
  });

  it("does not fail over a non-idempotent write: connection refused is a TransportError", async () => {
    const server = await serve(ok);
    const { client } = clientFor(server, { baseUrl: await refusedBaseUrl(), backupBaseUrl: server.url });
    const error = await client
      .request({ method: "POST", path: "/v3/marketing/favor/callbacks", json: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).message).toMatch(/ECONNREFUSED/);
    expect(server.requests).toHaveLength(0);
  });

  it("treats anything an injected send throws as a TransportError, so the retry policy applies", async () => {
    const server = await serve(ok);
    let calls = 0;
    const { client } = clientFor(server, {
      send: async (exchange) => {
        calls++;
        if (calls === 1) throw new Error("socket hang up");
        return nodeHttpSend(exchange);
      },
    });
    await client.request({ method: "GET", path: "/v3/x" });
    expect(calls).toBe(2);
    const refused = clientFor(server, {
      maxAttempts: 1,
      send: async () => {
        throw new Error("socket hang up");
      },
    });
    const error = await refused.client.request({ method: "GET", path: "/v3/x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v3\/x: socket hang up/);
  });

  it("retries a timed-out GET on the other host", async () => {
    const hanging = await serve(() => ({ hang: true }));
    const healthy = await serve(ok);
    const { client } = clientFor(hanging, { timeoutMs: 50, backupBaseUrl: healthy.url });
    await client.request({ method: "GET", path: "/v3/x" });
    expect(hanging.requests).toHaveLength(1);
    expect(healthy.requests).toHaveLength(1);
  });
});
