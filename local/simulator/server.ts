import type { IncomingMessage, ServerResponse } from "node:http";
import { authenticate } from "./auth.js";
import type { ApiRequest, ApiResponse, SimContext } from "./context.js";
import { type ControlDeps, handleControl } from "./control.js";
import { randomRequestId } from "./crypto/nonce.js";
import { systemError, WechatApiError } from "./errors.js";
import type { FaultDecision } from "./faults.js";
import { ENDPOINT_LIMITS, RATE_LIMIT_CODE, RATE_LIMIT_MESSAGE } from "./rate-limit.js";
import type { Route, Router } from "./router.js";
import { chooseSigner, type WechatSigner, wechatpayHeaders } from "./signing.js";

const MAX_BODY_BYTES = 4 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function writeJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    ...headers,
    ...(body === ""
      ? {}
      : { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) }),
  });
  res.end(body);
}

const errorBody = (error: WechatApiError) => JSON.stringify(error.toBody());

/** Handles one HTTP request: control API, or the WeChat pipeline (auth → limits → faults → handler → signature). */
export class SimulatorServer {
  private readonly ctx: SimContext;
  private readonly router: Router;
  private readonly control: ControlDeps;
  private readonly faultTimers = new Set<NodeJS.Timeout>();

  constructor(ctx: SimContext, router: Router, control: ControlDeps) {
    this.ctx = ctx;
    this.router = router;
    this.control = control;
  }

  /** Stops pending "timeout" faults (on stop). */
  cancelPending(): void {
    for (const timer of this.faultTimers) clearTimeout(timer);
    this.faultTimers.clear();
  }

  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((error: unknown) => {
      this.ctx.log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      writeJson(res, 500, errorBody(systemError()));
    });
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader("Request-ID", randomRequestId());
    const url = req.url ?? "/";
    const method = req.method ?? "GET";
    const queryAt = url.indexOf("?");
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1));
    const rawBody = await readBody(req);
    if (path.startsWith("/_simulator/")) {
      const answer = await handleControl(this.control, method, path, query, rawBody ?? Buffer.alloc(0));
      writeJson(res, answer.status, JSON.stringify(answer.json));
      return;
    }
    this.ctx.counters.requests_total += 1;
    if (rawBody === undefined) {
      writeJson(res, 413, errorBody(new WechatApiError(413, "PARAM_ERROR", "请求体过大")));
      return;
    }
    const match = this.router.match(method, path);
    if (!match) {
      writeJson(res, 404, JSON.stringify({ code: "NOT_FOUND", message: "请求的资源不存在" }));
      return;
    }
    const { route, params } = match;
    // Observed: both headers are mandatory for APIv3 (docs/wechatpay-apiv3-security.md#required-request-headers).
    if (!req.headers.accept || !req.headers["user-agent"]) {
      writeJson(res, 400, errorBody(new WechatApiError(400, "INVALID_REQUEST", "Http头缺少Accept或User-Agent")));
      return;
    }
    const bodyText = rawBody.toString("utf8");
    const bodyLine = route.signedBody ? route.signedBody({ headers: req.headers, rawBody }) : bodyText;
    if (bodyLine === undefined) {
      writeJson(res, 400, errorBody(new WechatApiError(400, "PARAM_ERROR", "请求须为multipart/form-data格式")));
      return;
    }
    let apiRequest: ApiRequest;
    try {
      const caller = authenticate(this.ctx, method, url, req.headers, bodyLine);
      apiRequest = { method, url, path, query, params, headers: req.headers, rawBody, bodyText, caller };
    } catch (error) {
      if (!(error instanceof WechatApiError)) throw error;
      this.ctx.counters.signature_failures += 1;
      writeJson(res, error.status, errorBody(error));
      return;
    }
    const signer = chooseSigner(this.ctx, headerValue(req.headers["wechatpay-serial"]));
    const response = await this.answer(route, apiRequest);
    await this.send(res, route, signer, response);
  }

  private async answer(route: Route, req: ApiRequest): Promise<ApiResponse> {
    if (this.overLimit(route, req.caller.mchid)) {
      this.ctx.counters.rate_limited += 1;
      return errorResponse(new WechatApiError(429, RATE_LIMIT_CODE, RATE_LIMIT_MESSAGE));
    }
    const fault = this.ctx.faults.decide(route.name);
    if (fault && (fault.phase === "before" || !route.mutates)) return this.injectFault(fault);
    let response: ApiResponse;
    try {
      response = await route.handler(req, this.ctx);
    } catch (error) {
      if (!(error instanceof WechatApiError)) {
        this.ctx.log(`${route.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        response = errorResponse(systemError());
      } else response = errorResponse(error);
    }
    // "after": the state change happened, the caller never learns it.
    if (fault) return this.injectFault(fault);
    return response;
  }

  private overLimit(route: Route, mchid: string): boolean {
    const { options, limiter } = this.ctx;
    if (route.name === "send-coupon") return !limiter.take(`send|${mchid}`, options.sendRateLimitPerSecond, 1000);
    const limit = ENDPOINT_LIMITS[route.name];
    if (!options.endpointRateLimits || !limit) return false;
    return !limiter.take(limit.perMerchant ? `${route.name}|${mchid}` : route.name, limit.limit, limit.windowMs);
  }

  private async injectFault(fault: FaultDecision): Promise<ApiResponse> {
    const { counters, faults } = this.ctx;
    counters.faults_injected += 1;
    counters.faults_by_kind[fault.kind] += 1;
    if (fault.kind === "429") return errorResponse(new WechatApiError(429, RATE_LIMIT_CODE, RATE_LIMIT_MESSAGE));
    if (fault.kind === "timeout") {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.faultTimers.delete(timer);
          resolve();
        }, faults.settings.timeout_ms);
        this.faultTimers.add(timer);
      });
    }
    return errorResponse(systemError());
  }

  private async send(res: ServerResponse, route: Route, signer: WechatSigner, response: ApiResponse): Promise<void> {
    if (response.raw) {
      if (res.destroyed) return;
      res.writeHead(response.status, {
        "Content-Type": response.raw.contentType,
        "Content-Length": response.raw.body.length,
      });
      res.end(response.raw.body);
      return;
    }
    const body = response.json === undefined ? "" : JSON.stringify(response.json);
    const headers = route.unsigned ? {} : await wechatpayHeaders(this.ctx, signer, body);
    writeJson(res, response.status, body, headers);
  }
}

function errorResponse(error: WechatApiError): ApiResponse {
  return { status: error.status, json: error.toBody() };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
