import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { TransportError } from "#shared/wechatpay/errors.js";
import { type HttpExchange, nodeHttpSend } from "#shared/wechatpay/transport/node-http-send.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(handler: http.RequestListener): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const exchange = (url: string, overrides: Partial<HttpExchange> = {}): HttpExchange => ({
  method: "GET",
  url: new URL(`${url}/v3/marketing/favor/stocks?limit=10`),
  headers: { Accept: "application/json" },
  body: undefined,
  timeoutMs: 2_000,
  ...overrides,
});

describe("nodeHttpSend", () => {
  it("sends the exact bytes with their length and returns status, lower-case headers and body", async () => {
    let seen: { method?: string; url?: string; length?: string; body?: string } = {};
    const server = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen = {
          method: req.method,
          url: req.url,
          length: req.headers["content-length"],
          body: Buffer.concat(chunks).toString("utf8"),
        };
        res.writeHead(200, { "Request-ID": "R1", "Content-Type": "application/json" }).end('{"coupon_id":"1"}');
      });
    });
    const body = Buffer.from('{"out_request_no":"优惠-1"}', "utf8");
    const answer = await nodeHttpSend(exchange(server.url, { method: "POST", body }));
    expect(seen).toEqual({
      method: "POST",
      url: "/v3/marketing/favor/stocks?limit=10",
      length: String(body.length),
      body: '{"out_request_no":"优惠-1"}',
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["request-id"]).toBe("R1");
    expect(answer.bytes.toString("utf8")).toBe('{"coupon_id":"1"}');
  });

  it("keeps the connection alive across sequential requests", async () => {
    const server = await serve((_req, res) => res.end("{}"));
    for (let i = 0; i < 5; i++) await nodeHttpSend(exchange(server.url));
    expect(server.connections()).toBe(1);
  });

  it("fails with TransportError when the connection closes before the answer's end", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "Content-Length": "100" });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const error = await nodeHttpSend(exchange(server.url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).timedOut).toBe(false);
  });

  it("times out a slow answer with TransportError{timedOut} and frees the socket", async () => {
    const server = await serve((_req, res) => setTimeout(() => res.end("{}"), 1_000));
    const error = await nodeHttpSend(exchange(server.url, { timeoutMs: 50 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).timedOut).toBe(true);
    expect((error as Error).message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/v3\/marketing\/favor\/stocks: no complete/,
    );
  });

  it("refuses a header value node will not send (CR/LF) as a TransportError, with nothing on the wire", async () => {
    let requests = 0;
    const server = await serve((_req, res) => {
      requests++;
      res.end("{}");
    });
    const error = await nodeHttpSend(
      exchange(server.url, { headers: { "User-Agent": "evil\r\nX-Injected: 1" }, timeoutMs: 50 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).timedOut).toBe(false);
    await new Promise((r) => setTimeout(r, 80)); // past the timeout: its timer was cleared, nothing throws
    expect(requests).toBe(0);
  });

  it("names the network error's code", async () => {
    const server = await serve((_req, res) => res.end("{}"));
    const url = server.url;
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    const error = await nodeHttpSend(exchange(url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(/network error ECONNREFUSED/);
  });
});
