import { request } from "node:http";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayRoute, type HttpGateway, startHttpGateway } from "#local/stack/http-gateway.js";

const TOKEN = "local-test-token";
const seen: Array<{ event: APIGatewayProxyEventV2; context: Context }> = [];

const capture =
  (result: unknown): GatewayRoute["handler"] =>
  async (event, context) => {
    seen.push({ event, context });
    return result;
  };

let gateway: HttpGateway;
const logged: string[] = [];

beforeAll(async () => {
  gateway = await startHttpGateway({
    bearerToken: TOKEN,
    maxBodyBytes: 1024,
    log: (m) => logged.push(m),
    routes: [
      {
        method: "POST",
        path: "/stocks/{stock_id}/start",
        auth: "bearer",
        functionName: "api",
        handler: capture({
          statusCode: 201,
          headers: { "Content-Type": "application/json", "x-request": "r1" },
          cookies: ["a=1; Path=/", "b=2"],
          body: '{"ok":true}',
        }),
      },
      { method: "GET", path: "/stocks/{stock_id}", auth: "bearer", handler: capture("plain string") },
      { method: "POST", path: "/notify", auth: "none", handler: capture({ any: "object" }) },
      {
        method: "GET",
        path: "/files/{proxy+}",
        auth: "none",
        handler: capture({
          statusCode: 200,
          isBase64Encoded: true,
          body: Buffer.from([0, 1, 2, 255]).toString("base64"),
        }),
      },
      {
        method: "GET",
        path: "/boom",
        auth: "none",
        handler: async () => {
          throw new Error("handler exploded");
        },
      },
      {
        method: "POST",
        path: "/throttled",
        auth: "bearer",
        throttle: { rateLimit: 1, burstLimit: 2 },
        handler: async () => ({ statusCode: 204 }),
      },
      {
        method: "GET",
        path: "/slow",
        auth: "none",
        timeoutMs: 50,
        handler: () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 2_000)),
      },
    ],
  });
});
afterAll(async () => {
  await gateway?.close();
});

const last = () => seen.at(-1)!;
const auth = { authorization: `Bearer ${TOKEN}` };

describe("local HTTP API gateway", () => {
  it("throttles a route as its stage settings say, before authorization and without invoking the function", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/throttled`, { method: "POST", headers }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
    // Burst 2: two go through (one unauthorized, still counted), the third finds the bucket empty.
    expect((await post(auth)).status).toBe(204);
    expect((await post({})).status).toBe(401);
    expect(await post(auth)).toEqual({ status: 429, body: JSON.stringify({ message: "Too Many Requests" }) });
    // Refilled at 1/s.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await post(auth)).status).toBe(204);
  });

  it("turns a request into a payload 2.0 event with route key, path parameters, query, headers and cookies", async () => {
    const res = await fetch(`${gateway.url}/stocks/98%2056/start?limit=5&tag=a&tag=b`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "X-Custom": "One", cookie: "session=abc; theme=dark" },
      body: JSON.stringify({ hello: "世界" }),
    });
    expect(res.status).toBe(201);
    const { event, context } = last();
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "POST /stocks/{stock_id}/start",
      rawPath: "/stocks/98%2056/start",
      rawQueryString: "limit=5&tag=a&tag=b",
      queryStringParameters: { limit: "5", tag: "a,b" },
      pathParameters: { stock_id: "98 56" },
      cookies: ["session=abc", "theme=dark"],
      isBase64Encoded: false,
      body: '{"hello":"世界"}',
    });
    expect(event.headers).toMatchObject({
      "x-custom": "One",
      "content-type": "application/json",
      authorization: `Bearer ${TOKEN}`,
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext).toMatchObject({
      apiId: "local",
      stage: "$default",
      routeKey: "POST /stocks/{stock_id}/start",
      http: { method: "POST", path: "/stocks/98%2056/start", protocol: "HTTP/1.1", sourceIp: "127.0.0.1" },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(context.functionName).toBe("api");
    expect(context.awsRequestId).toBe(event.requestContext.requestId);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });

  it("writes back status, headers, cookies and body of a structured result", async () => {
    const res = await fetch(`${gateway.url}/stocks/1/start`, { method: "POST", headers: auth });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request")).toBe("r1");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2"]);
    expect(await res.json()).toEqual({ ok: true });
    expect(last().event.body).toBeUndefined();
  });

  it("base64-encodes a body whose content type is not text", async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    await fetch(`${gateway.url}/notify`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(last().event).toMatchObject({ isBase64Encoded: true, body: bytes.toString("base64") });
  });

  it("answers a string result as 200 JSON with the string as the body, and any other value JSON-encoded", async () => {
    const res = await fetch(`${gateway.url}/stocks/abc`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe("plain string");
    const obj = await fetch(`${gateway.url}/notify`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    expect(await obj.json()).toEqual({ any: "object" });
  });

  it("decodes a base64 result body and passes greedy path parameters", async () => {
    const res = await fetch(`${gateway.url}/files/a/b/c.bin`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(last().event.pathParameters).toEqual({ proxy: "a/b/c.bin" });
  });

  it("rejects bearer routes without the right token with 401 JSON, before the handler runs", async () => {
    const count = seen.length;
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer wrong" }, { authorization: TOKEN }];
    for (const headers of attempts) {
      const res = await fetch(`${gateway.url}/stocks/abc`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ code: "UNAUTHORIZED", message: expect.any(String) });
    }
    expect(seen.length).toBe(count);
  });

  it("answers 404 for an unknown route and 405 (with Allow) for a known path with another method", async () => {
    const missing = await fetch(`${gateway.url}/nothing/here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "NOT_FOUND" });
    const wrong = await fetch(`${gateway.url}/notify`, { method: "GET" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(await wrong.json()).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
  });

  it("answers 413 for a body over the limit without calling the handler", async () => {
    const count = seen.length;
    const res = await fetch(`${gateway.url}/notify`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x".repeat(2048),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(seen.length).toBe(count);
  });

  it("also stops a chunked upload (no content-length) once it passes the limit", async () => {
    const count = seen.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${gateway.url}/notify`,
        { method: "POST", headers: { "content-type": "text/plain" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 4; i++) req.write("y".repeat(512));
      req.end();
    });
    expect(status).toBe(413);
    expect(seen.length).toBe(count);
  });

  it("answers 500 like API Gateway when the handler throws or times out", async () => {
    const res = await fetch(`${gateway.url}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: "Internal Server Error" });
    expect(logged.some((l) => l.includes("handler exploded"))).toBe(true);
    const slow = await fetch(`${gateway.url}/slow`);
    expect(slow.status).toBe(500);
    expect(logged.some((l) => l.includes("timed out"))).toBe(true);
  });
});

describe("local HTTP API gateway: route scopes", () => {
  let scoped: HttpGateway;
  const calls: string[] = [];
  const handler: GatewayRoute["handler"] = async (event) => {
    calls.push(event.routeKey);
    return { statusCode: 204 };
  };

  beforeAll(async () => {
    scoped = await startHttpGateway({
      bearerToken: "all-scopes",
      scopedTokens: [{ token: "sender", scopes: ["wxcoupon/send", "wxcoupon/read"] }],
      log: () => {},
      routes: [
        { method: "POST", path: "/callbacks", auth: "bearer", scopes: ["wxcoupon/admin"], handler },
        { method: "POST", path: "/coupons", auth: "bearer", scopes: ["wxcoupon/send"], handler },
        { method: "GET", path: "/stocks", auth: "bearer", scopes: ["wxcoupon/read", "wxcoupon/admin"], handler },
      ],
    });
  });
  afterAll(async () => scoped?.close());

  const call = (method: string, path: string, token: string) =>
    fetch(`${scoped.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

  it("refuses a scoped token on a route needing a scope it lacks: 403 JSON, before the handler runs", async () => {
    const response = await call("POST", "/callbacks", "sender");
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: "FORBIDDEN" });
    expect(response.headers.get("www-authenticate")).toContain("insufficient_scope");
    expect(calls).not.toContain("POST /callbacks");
  });

  it("lets a scoped token through where one of its scopes is accepted, and the all-scopes token everywhere", async () => {
    expect((await call("POST", "/coupons", "sender")).status).toBe(204);
    expect((await call("GET", "/stocks", "sender")).status).toBe(204);
    for (const [method, path] of [
      ["POST", "/callbacks"],
      ["POST", "/coupons"],
      ["GET", "/stocks"],
    ] as const) {
      expect((await call(method, path, "all-scopes")).status, `${method} ${path}`).toBe(204);
    }
    expect((await call("POST", "/coupons", "nobody")).status).toBe(401);
  });
});
