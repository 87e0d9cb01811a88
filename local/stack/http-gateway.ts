import { randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { makeLambdaContext } from "./lambda-context.js";

/** An HTTP API (payload 2.0) Lambda handler. The result may be structured, a string, or any JSON value. */
export type HttpLambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

export interface GatewayRoute {
  /** GET, POST, … or ANY. */
  method: string;
  /** Route template as in API Gateway: `/stocks/{stock_id}/start`, `/files/{proxy+}`. */
  path: string;
  handler: HttpLambdaHandler;
  /** `bearer`: requests need `Authorization: Bearer <token>` (checked before the handler, like an authorizer). */
  auth: "bearer" | "none";
  /**
   * Bearer routes: a scoped token must hold at least one of these, as API Gateway's JWT authorizer checks a route's
   * AuthorizationScopes (403 otherwise). Default: any valid token.
   */
  scopes?: readonly string[];
  /**
   * The stage's throttle for this route (API Gateway's token bucket: `burstLimit` requests at once, refilled at
   * `rateLimit` per second); past it the caller gets 429 without the function being invoked. Default: none.
   */
  throttle?: { rateLimit: number; burstLimit: number };
  /** For the Lambda context; default derived from the route. */
  functionName?: string;
  /** Lambda timeout: past it the caller gets a 500, as when Lambda times out. Default 30 s. */
  timeoutMs?: number;
}

export interface HttpGatewayOptions {
  routes: GatewayRoute[];
  /** A token `bearer` routes accept whatever their scopes (all scopes). One of the two is needed for `bearer`. */
  bearerToken?: string;
  /** Tokens holding only these scopes: refused (403) on a route whose `scopes` they do not meet. */
  scopedTokens?: readonly { token: string; scopes: readonly string[] }[];
  host?: string;
  port?: number;
  /** API Gateway's payload limit is 10 MB; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Where handler errors are reported (name and message only). Default console.error. */
  log?: (message: string) => void;
}

export interface HttpGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

/**
 * A local stand-in for API Gateway HTTP API → Lambda (payload format 2.0): matches route templates, checks bearer
 * auth, builds `APIGatewayProxyEventV2` (lower-case joined headers, cookies, query, path parameters, base64 body for
 * non-text content types, requestContext), invokes the handler and writes its result back as API Gateway does.
 */
export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway> {
  const compiled = options.routes.map(compileRoute);
  if (options.routes.some((r) => r.auth === "bearer") && !options.bearerToken && !options.scopedTokens?.length) {
    throw new Error("startHttpGateway: a bearer route needs options.bearerToken or options.scopedTokens");
  }
  const tokens = [
    ...(options.bearerToken ? [{ token: options.bearerToken, scopes: undefined }] : []),
    ...(options.scopedTokens ?? []),
  ];
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const log = options.log ?? ((m: string) => console.error(m));

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      log(`http-gateway: ${describe(error)}`);
      if (!res.headersSent) sendJson(res, 500, { message: "Internal Server Error" });
      else res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const timeEpoch = Date.now();
    const url = new URL(req.url ?? "/", "http://localhost");
    const rawPath = url.pathname;
    const method = (req.method ?? "GET").toUpperCase();

    const matches = compiled.map((r) => ({ route: r, params: r.match(rawPath) })).filter((m) => m.params !== undefined);
    if (matches.length === 0) return sendJson(res, 404, { code: "NOT_FOUND", message: "Not Found" });
    const match = matches.find((m) => m.route.method === method) ?? matches.find((m) => m.route.method === "ANY");
    if (match === undefined) {
      res.setHeader("allow", [...new Set(matches.map((m) => m.route.method))].join(", "));
      return sendJson(res, 405, { code: "METHOD_NOT_ALLOWED", message: `${method} is not allowed on this route` });
    }
    const { route, params } = match;
    // Throttling comes before authorization, as in API Gateway: a flood of unauthenticated requests is throttled too
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
    if (route.takeToken && !route.takeToken()) return sendJson(res, 429, { message: "Too Many Requests" });

    if (route.auth === "bearer") {
      const holder = tokens.find((t) => bearerOk(req.headers.authorization, t.token));
      if (holder === undefined) {
        res.setHeader("www-authenticate", "Bearer");
        return sendJson(res, 401, { code: "UNAUTHORIZED", message: "missing or invalid bearer token" });
      }
      const wanted = route.scopes ?? [];
      if (holder.scopes !== undefined && wanted.length > 0 && !wanted.some((s) => holder.scopes.includes(s))) {
        res.setHeader("www-authenticate", `Bearer error="insufficient_scope", scope="${wanted.join(" ")}"`);
        return sendJson(res, 403, {
          code: "FORBIDDEN",
          message: `this token lacks the scope this route requires (one of: ${wanted.join(", ")})`,
        });
      }
    }

    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) return tooLarge(req, res, maxBody);
    const body = await readBody(req, maxBody);
    if (body === undefined) return tooLarge(req, res, maxBody);

    const requestId = randomUUID();
    const event = toEvent({ req, url, rawPath, method, route, params: params ?? {}, body, requestId, timeEpoch });
    const timeoutMs = route.timeoutMs ?? 30_000;
    const context = makeLambdaContext({ functionName: route.functionName, timeoutMs, requestId });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    let result: unknown;
    try {
      result = await Promise.race([route.handler(event, context), timeout]);
    } catch (error) {
      log(`http-gateway: ${route.routeKey} failed: ${describe(error)}`);
      return sendJson(res, 500, { message: "Internal Server Error" });
    } finally {
      clearTimeout(timer);
    }
    writeResult(res, result);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface CompiledRoute extends GatewayRoute {
  routeKey: string;
  /** One request's token from the route's bucket; false when it is empty. Absent: not throttled. */
  takeToken?: () => boolean;
  functionName: string;
  match(path: string): Record<string, string> | undefined;
}

function compileRoute(route: GatewayRoute): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path
    .split("/")
    .map((segment) => {
      const greedy = /^\{([A-Za-z0-9_.-]+)\+\}$/.exec(segment);
      if (greedy) {
        names.push(greedy[1]!);
        return "(.+)";
      }
      const param = /^\{([A-Za-z0-9_.-]+)\}$/.exec(segment);
      if (param) {
        names.push(param[1]!);
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  const regex = new RegExp(`^${pattern}$`);
  const method = route.method.toUpperCase();
  const routeKey = `${method} ${route.path}`;
  return {
    ...route,
    method,
    routeKey,
    ...(route.throttle ? { takeToken: tokenBucket(route.throttle) } : {}),
    functionName: route.functionName ?? `local-${method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+/g, "-")}`,
    match(path) {
      const m = regex.exec(path);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        const raw = m[i + 1] ?? "";
        try {
          params[name] = decodeURIComponent(raw);
        } catch {
          params[name] = raw;
        }
      });
      return params;
    },
  };
}

function bearerOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m || token === "") return false;
  const given = Buffer.from(m[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Reads the body, or returns undefined as soon as it exceeds `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

function tooLarge(req: IncomingMessage, res: ServerResponse, max: number): void {
  res.setHeader("connection", "close");
  sendJson(res, 413, { code: "PAYLOAD_TOO_LARGE", message: `request body exceeds ${max} bytes` });
  // Stop reading the rest of an oversized upload.
  res.on("finish", () => req.destroy());
}

/**
 * HTTP API passes text bodies as UTF-8 and everything else base64-encoded with `isBase64Encoded: true`. A body with
 * no content type is treated as binary, so a handler that verifies signatures must decode either way.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/javascript" ||
    type === "application/graphql"
  );
}

function toEvent(input: {
  req: IncomingMessage;
  url: URL;
  rawPath: string;
  method: string;
  route: CompiledRoute;
  params: Record<string, string>;
  body: Buffer;
  requestId: string;
  timeEpoch: number;
}): APIGatewayProxyEventV2 {
  const { req, url, rawPath, method, route, params, body } = input;
  // Lower-case names, repeated headers joined with commas; cookies go to `cookies`, not `headers` (payload 2.0).
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === "cookie") {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter((c) => c !== "")];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const rawQueryString = url.search.startsWith("?") ? url.search.slice(1) : url.search;
  let query: Record<string, string> | undefined;
  for (const [key, value] of url.searchParams) {
    query ??= {};
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  }
  const text = isTextContentType(headers["content-type"]);
  const host = headers.host ?? "localhost";
  const domainName = host.replace(/:\d+$/, "");
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey: route.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: input.requestId,
      routeKey: route.routeKey,
      stage: "$default",
      time: formatRequestTime(new Date(input.timeEpoch)),
      timeEpoch: input.timeEpoch,
    },
    isBase64Encoded: body.length > 0 && !text,
  };
  if (cookies !== undefined) event.cookies = cookies;
  if (query !== undefined) event.queryStringParameters = query;
  if (Object.keys(params).length > 0) event.pathParameters = params;
  if (body.length > 0) event.body = text ? body.toString("utf8") : body.toString("base64");
  return event;
}

/** API Gateway's `requestContext.time` format: `12/Mar/2020:19:03:58 +0000`. */
function formatRequestTime(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * Payload 2.0 response rules: an object with `statusCode` is a structured response; any other value (string,
 * object without statusCode) means 200 with content-type application/json and the value as the body (a string is
 * used as is, anything else JSON-encoded).
 */
function writeResult(res: ServerResponse, result: unknown): void {
  if (typeof result === "object" && result !== null && "statusCode" in result) {
    const r = result as APIGatewayProxyStructuredResultV2 & { cookies?: string[] };
    res.statusCode = Number(r.statusCode);
    for (const [name, value] of Object.entries(r.headers ?? {})) res.setHeader(name.toLowerCase(), String(value));
    if (r.cookies?.length) res.setHeader("set-cookie", r.cookies);
    const body = r.body ?? "";
    res.end(r.isBase64Encoded ? Buffer.from(body, "base64") : body);
    return;
  }
  res.statusCode = 200;
  res.setHeader("content-type", "application/json");
  res.end(typeof result === "string" ? result : (JSON.stringify(result) ?? ""));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A token bucket of `burstLimit` tokens refilled at `rateLimit` per second: API Gateway's throttle for one route. */
function tokenBucket(throttle: { rateLimit: number; burstLimit: number }): () => boolean {
  let tokens = throttle.burstLimit;
  let last = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(throttle.burstLimit, tokens + ((now - last) / 1000) * throttle.rateLimit);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
