import type { KeyObject } from "node:crypto";
import { buildAuthorizationAsync, type MerchantCredentials } from "../auth/authorization.js";
import { readHeader } from "../auth/headers.js";
import { readSignedMessage, verifySignedMessage } from "../auth/signed-message.js";
import type { VerificationKeySource } from "../auth/wechatpay-verifier.js";
import { generateNonce } from "../crypto/nonce.js";
import { TransportError, WechatPayError } from "../errors.js";
import { createApiError } from "./api-error.js";
import { buildMultipartBody, type MultipartFile } from "./multipart.js";
import {
  type HttpAnswer,
  type HttpSend,
  type HttpStreamAnswer,
  type HttpStreamSend,
  nodeHttpSend,
  nodeHttpStreamSend,
  type ResponseHeaders,
} from "./node-http-send.js";
import { buildRequestUrl, canonicalUrl, onHost, type QueryValue } from "./request-url.js";
import { type BackoffOptions, backoffDelayMs, shouldRetry } from "./should-retry.js";

export const DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com";
export const DEFAULT_BACKUP_BASE_URL = "https://api2.mch.weixin.qq.com";
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const USER_AGENT = `wxcoupon/0.1.0 (${process.platform}) node/${process.versions.node}`;
const DEFAULT_BACKOFF: BackoffOptions = { baseDelayMs: 200, maxDelayMs: 5_000 };

/** Keys that check WeChat's answers; `resolve` (when present) may download certificates once for an unknown serial. */
export type ResponseKeySource = VerificationKeySource & { resolve?(serial: string): Promise<KeyObject> };

export interface WechatPayHttpClientOptions {
  credentials: MerchantCredentials;
  verificationKeys: ResponseKeySource;
  /** The serial or public-key id we can verify, sent as `Wechatpay-Serial` (WeChat signs its answer with that key). */
  wechatpaySerial?: () => string | undefined;
  baseUrl?: string;
  backupBaseUrl?: string;
  /** Per attempt, covering connect, answer and body. */
  timeoutMs?: number;
  /** Attempts per request, the first included; retries happen only for idempotent requests. */
  maxAttempts?: number;
  /** false: a 429 goes straight back to the caller, whose own rate control retries it (default true). */
  retryRateLimited?: boolean;
  backoff?: Partial<BackoffOptions>;
  /** Wall clock in ms (signature timestamp, response window). */
  now?: () => number;
  nonce?: () => string;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Puts one signed attempt on the wire (default: node:http(s) with kept-alive sockets). */
  send?: HttpSend;
  /** The same for file downloads, whose body is read as it arrives (default: node:http(s)). */
  sendStream?: HttpStreamSend;
  userAgent?: string;
}

export interface ApiRequest {
  method: "GET" | "POST";
  /** Path with its parameters already `encodeURIComponent`-ed. */
  path: string;
  query?: Record<string, QueryValue>;
  /** JSON body, serialised once: every attempt sends (and signs) the same bytes. */
  json?: unknown;
  /** Multipart upload: the signature covers `meta`, the wire carries the multipart body. */
  multipart?: { meta: string; file: MultipartFile };
  /** Safe to repeat: GETs by default; a write only when it carries an out_request_no. */
  idempotent?: boolean;
  /** Check WeChat's signature on a 2xx answer (default true). */
  verify?: boolean;
  /** Overrides the client's per-attempt timeout for this request. */
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  /** Names in lower case. */
  headers: ResponseHeaders;
  requestId: string | undefined;
  /** The body exactly as received (what the signature covers). */
  rawBody: string;
  data: T;
}

export interface DownloadedFile {
  /** The file's bytes as they arrive; read once. A stalled or cut transfer throws TransportError. */
  body: AsyncIterable<Buffer>;
  headers: ResponseHeaders;
  requestId: string | undefined;
}

/** How much of a refused download's answer is read to build its error (WeChat's error bodies are small JSON). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

interface PreparedRequest {
  method: "GET" | "POST";
  url: URL;
  body: Buffer | undefined;
  contentType: string | undefined;
  signedBody: string;
  accept: string;
  idempotent: boolean;
  verify: boolean;
  timeoutMs: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * WeChat Pay APIv3 over HTTPS: signs every attempt, verifies every 2xx answer over its raw body, maps
 * non-2xx answers to WechatPayApiError, and retries idempotent requests with jittered back-off, failing over to
 * the backup domain when the host cannot be reached.
 *
 * @example
 * const http = new WechatPayHttpClient({ credentials, verificationKeys });
 * const { data } = await http.request<{ stock_id: string }>({ method: "GET", path: "/v3/marketing/favor/stocks/123",
 *   query: { stock_creator_mchid: "1900000001" } });
 */
export class WechatPayHttpClient {
  readonly baseUrl: string;
  readonly backupBaseUrl: string;
  private readonly options: WechatPayHttpClientOptions;
  private readonly now: () => number;
  private readonly nonce: () => string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly sendImpl: HttpSend;
  private readonly sendStreamImpl: HttpStreamSend;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(options: WechatPayHttpClientOptions) {
    this.options = options;
    this.baseUrl = new URL(options.baseUrl ?? DEFAULT_BASE_URL).origin;
    this.backupBaseUrl = new URL(options.backupBaseUrl ?? DEFAULT_BACKUP_BASE_URL).origin;
    this.now = options.now ?? Date.now;
    this.nonce = options.nonce ?? (() => generateNonce());
    this.sleep = options.sleep ?? defaultSleep;
    this.sendImpl = options.send ?? nodeHttpSend;
    this.sendStreamImpl = options.sendStream ?? nodeHttpStreamSend;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  /** Sends a signed API request and returns the verified, parsed answer; non-2xx answers throw WechatPayApiError. */
  async request<T>(request: ApiRequest): Promise<ApiResponse<T>> {
    const prepared = this.prepare(request);
    const raw = await this.execute(prepared, (url) => this.attempt(prepared, url));
    const rawBody = raw.bytes.toString("utf8");
    const requestId = readHeader(raw.headers, "Request-ID");
    let data: unknown;
    if (rawBody !== "") {
      try {
        data = JSON.parse(rawBody);
      } catch (cause) {
        throw new WechatPayError("MALFORMED_RESPONSE", `${request.method} ${request.path}: answer is not JSON`, {
          cause,
        });
      }
    }
    return { status: raw.status, headers: raw.headers, requestId, rawBody, data: data as T };
  }

  /**
   * Downloads a file link WeChat handed out (use/refund flow, `/v3/billdownload/file`): a signed GET whose answer
   * WeChat does not sign, so it is not verified — check the file's hash instead. Resolves once the answer's headers
   * arrive (retried like any GET until then); the body streams, so a file of any size never sits in memory.
   */
  async download(link: string): Promise<DownloadedFile> {
    const url = new URL(link);
    if (url.origin !== this.baseUrl && url.origin !== this.backupBaseUrl) {
      throw new WechatPayError(
        "UNEXPECTED_DOWNLOAD_HOST",
        `download link points at ${url.origin}, not at the configured WeChat Pay hosts`,
      );
    }
    const request: PreparedRequest = {
      method: "GET",
      url,
      body: undefined,
      contentType: undefined,
      signedBody: "",
      accept: "*/*",
      idempotent: true,
      verify: false,
      timeoutMs: this.timeoutMs,
    };
    const answer = await this.execute(request, (attemptUrl) => this.attemptStream(request, attemptUrl));
    return { body: answer.body, headers: answer.headers, requestId: readHeader(answer.headers, "Request-ID") };
  }

  private prepare(request: ApiRequest): PreparedRequest {
    const url = buildRequestUrl(this.baseUrl, request.path, request.query);
    const common = {
      method: request.method,
      url,
      accept: "application/json",
      idempotent: request.idempotent ?? request.method === "GET",
      verify: request.verify ?? true,
      timeoutMs: request.timeoutMs ?? this.timeoutMs,
    };
    if (request.multipart) {
      const { body, contentType } = buildMultipartBody(request.multipart.meta, request.multipart.file);
      return { ...common, body, contentType, signedBody: request.multipart.meta };
    }
    if (request.json !== undefined) {
      const text = JSON.stringify(request.json);
      return { ...common, body: Buffer.from(text, "utf8"), contentType: "application/json", signedBody: text };
    }
    return { ...common, body: undefined, contentType: undefined, signedBody: "" };
  }

  private async execute<T>(request: PreparedRequest, attempt: (url: URL) => Promise<T>): Promise<T> {
    let url = request.url;
    for (let number = 1; ; number++) {
      try {
        return await attempt(url);
      } catch (error) {
        const decision = shouldRetry(error, number, {
          idempotent: request.idempotent,
          maxAttempts: this.maxAttempts,
          retryRateLimited: this.options.retryRateLimited ?? true,
        });
        if (!decision.retry) throw error;
        if (decision.failover) url = onHost(url, url.origin === this.baseUrl ? this.backupBaseUrl : this.baseUrl);
        await this.sleep(backoffDelayMs(number, this.backoff, this.options.random));
      }
    }
  }

  private async attempt(request: PreparedRequest, url: URL): Promise<HttpAnswer> {
    const raw = await this.send(request, url);
    const requestId = readHeader(raw.headers, "Request-ID");
    if (raw.status < 200 || raw.status >= 300) throw createApiError(raw.status, raw.bytes.toString("utf8"), requestId);
    if (request.verify) {
      const signed = readSignedMessage(raw.headers, raw.bytes.toString("utf8"));
      await verifySignedMessage(signed, this.options.verificationKeys, Math.floor(this.now() / 1000));
    }
    return raw;
  }

  /** One download attempt: a refusal (non-2xx) is read, bounded, into WechatPayApiError; a 2xx body is left to stream. */
  private async attemptStream(request: PreparedRequest, url: URL): Promise<HttpStreamAnswer> {
    const headers = await this.signedHeaders(request, url);
    const answer = await this.onTheWire(request, url, () =>
      this.sendStreamImpl({ method: request.method, url, headers, body: request.body, timeoutMs: request.timeoutMs }),
    );
    if (answer.status >= 200 && answer.status < 300) return answer;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of answer.body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY_BYTES) break;
    }
    const text = Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString("utf8");
    throw createApiError(answer.status, text, readHeader(answer.headers, "Request-ID"));
  }

  private async send(request: PreparedRequest, url: URL): Promise<HttpAnswer> {
    const headers = await this.signedHeaders(request, url);
    return this.onTheWire(request, url, () =>
      this.sendImpl({ method: request.method, url, headers, body: request.body, timeoutMs: request.timeoutMs }),
    );
  }

  /** Headers of one attempt, signed afresh (new timestamp and nonce) over the same body bytes. */
  private async signedHeaders(request: PreparedRequest, url: URL): Promise<Record<string, string>> {
    const authorization = await buildAuthorizationAsync(this.options.credentials, {
      method: request.method,
      canonicalUrl: canonicalUrl(url),
      body: request.signedBody,
      timestamp: Math.floor(this.now() / 1000),
      nonce: this.nonce(),
    });
    const headers: Record<string, string> = {
      Accept: request.accept,
      "User-Agent": this.options.userAgent ?? USER_AGENT,
      Authorization: authorization,
    };
    if (request.contentType) headers["Content-Type"] = request.contentType;
    const serial = this.options.wechatpaySerial?.();
    if (serial) headers["Wechatpay-Serial"] = serial;
    return headers;
  }

  /** Runs one send; anything it throws other than TransportError is still a transport failure (retry policy applies). */
  private async onTheWire<T>(request: PreparedRequest, url: URL, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof TransportError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new TransportError(`${request.method} ${url.origin}${url.pathname}: ${message}`, { cause: error });
    }
  }
}
