import { setTimeout as delay } from "node:timers/promises";
import { type AwsCredentials, type CredentialsProvider, signRequest } from "./sigv4-signer.js";

/** How requests to the wxcoupon API are authorized. */
export type ApiAuth =
  | { kind: "bearer"; token: string }
  | { kind: "sigv4"; region: string; credentials: AwsCredentials | CredentialsProvider };

export interface ApiClientOptions {
  /** The API's base URL (the stage URL for a deployed stack). */
  baseUrl: string;
  auth: ApiAuth;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** First retry delay; doubles per attempt (capped at 10 s). */
  retryBaseMs?: number;
  /** Attempts per request when the API is unreachable, throttles (429) or fails (5xx). */
  attempts?: number;
  /** Told before each retry (the CLI prints it, so a long wait is explained). */
  onRetry?: (problem: string, waitMs: number) => void;
}

/** The API answered with an error that retrying the same request will not fix. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** No answer at all (connection refused, DNS, TLS, timeout) after every retry. */
export class ApiUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiUnreachableError";
  }
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A small JSON client for the wxcoupon API: bearer or SigV4 auth, retries with exponential back-off on network
 * errors, 429 and 5xx (honouring Retry-After). Only idempotent requests are sent through it (every write the CLI makes
 * carries its idempotency key), so a retry after a lost answer is safe.
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly #auth: ApiAuth;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #retryBaseMs: number;
  readonly #attempts: number;
  readonly #onRetry: (problem: string, waitMs: number) => void;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#auth = options.auth;
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#retryBaseMs = options.retryBaseMs ?? 500;
    this.#attempts = options.attempts ?? 6;
    this.#onRetry = options.onRetry ?? (() => {});
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    const text = body === undefined ? undefined : JSON.stringify(body);
    let lastProblem = "";
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (attempt > 1) {
        const waitMs = this.#backoff(attempt, lastProblem);
        this.#onRetry(`${method} ${url.pathname}: ${lastProblem}`, waitMs);
        await this.#sleep(waitMs);
      }
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers: await this.#headers(method, url, text),
          ...(text === undefined ? {} : { body: text }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        lastProblem = networkProblem(error);
        continue;
      }
      const raw = await response.text();
      if (response.ok) return (raw ? JSON.parse(raw) : {}) as T;
      if (RETRYABLE.has(response.status)) {
        lastProblem = `HTTP ${response.status}${retryAfterSuffix(response)}`;
        continue;
      }
      throw apiError(method, url, response.status, raw);
    }
    if (lastProblem.startsWith("HTTP ")) {
      throw new ApiError(
        0,
        "UNAVAILABLE",
        `${method} ${url.pathname}: still ${lastProblem} after ${this.#attempts} attempts`,
      );
    }
    throw new ApiUnreachableError(
      `cannot reach the wxcoupon API at ${this.baseUrl} (${lastProblem}) after ${this.#attempts} attempts; ` +
        "is the stack running (npm start for the local one) and --api right?",
    );
  }

  #backoff(attempt: number, problem: string): number {
    const retryAfter = /retry-after (\d+)/.exec(problem)?.[1];
    const exponential = Math.min(10_000, this.#retryBaseMs * 2 ** (attempt - 2));
    return retryAfter ? Math.max(exponential, Number(retryAfter) * 1_000) : exponential;
  }

  async #headers(method: string, url: URL, body: string | undefined): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#auth.kind === "bearer") return { ...headers, authorization: `Bearer ${this.#auth.token}` };
    return signRequest(
      { method, url, headers, ...(body === undefined ? {} : { body }) },
      { region: this.#auth.region, credentials: this.#auth.credentials },
    );
  }
}

function retryAfterSuffix(response: Response): string {
  const value = response.headers.get("retry-after");
  return value && /^\d+$/.test(value) ? `, retry-after ${value}` : "";
}

function networkProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as { name?: string }).name === "TimeoutError") return "no answer within 30 s";
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function apiError(method: string, url: URL, status: number, raw: string): ApiError {
  let body: { code?: unknown; message?: unknown; field?: unknown } = {};
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    // not JSON (a proxy's page): report the status alone
  }
  const code = typeof body.code === "string" ? body.code : `HTTP_${status}`;
  const message = typeof body.message === "string" ? body.message : raw.slice(0, 200) || `HTTP ${status}`;
  const field = typeof body.field === "string" ? body.field : undefined;
  const hint =
    status === 401 || status === 403
      ? " (check --token, or the AWS credentials and their execute-api:Invoke permission)"
      : "";
  return new ApiError(status, code, `${method} ${url.pathname}: ${status} ${code}: ${message}${hint}`, field);
}
