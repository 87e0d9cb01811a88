import type { IncomingHttpHeaders } from "node:http";
import type { SimulatorClock } from "./clock.js";
import type { DownloadTokens } from "./downloads.js";
import type { Faults } from "./faults.js";
import type { Notifier } from "./notifier.js";
import type { RateLimiter } from "./rate-limit.js";
import type { Sender } from "./rules/send-coupon.js";
import type { Store } from "./state/store.js";
import type { Counters } from "./stats.js";
import type { LogFn, SimulatorFileConfig, SimulatorKeyMaterial } from "./types.js";

export interface ResolvedOptions {
  host: string;
  port: number;
  notifyRetryIntervalMs: number;
  notifyTimeoutMs: number;
  sendRateLimitPerSecond: number;
  endpointRateLimits: boolean;
  requestTimestampToleranceSeconds: number;
  beginTimeToleranceSeconds: number;
  faultTimeoutMs: number;
}

/** Everything a route handler may use. */
export interface SimContext {
  options: ResolvedOptions;
  file: SimulatorFileConfig;
  keys: SimulatorKeyMaterial;
  clock: SimulatorClock;
  store: Store;
  counters: Counters;
  faults: Faults;
  /**
   * Whether a replayed send is checked like a new one (stock state, window, budget, per-user limit) before its first
   * coupon_id is answered. WeChat documents neither order (docs/wechatpay-cash-coupons.md#idempotency-and-replays);
   * false (the default) answers the replay first, true lets tests meet the other: a refusal after a lost answer.
   */
  replayChecks: boolean;
  /**
   * Merchants whose right to send coupons WeChat has withdrawn (`POST /_simulator/permissions`): their sends answer
   * 403 NO_AUTH 发券商户无权限使用此API (docs/wechatpay-cash-coupons.md#refusals-about-the-merchant).
   */
  sendRevoked: Set<string>;
  limiter: RateLimiter;
  notifier: Notifier;
  downloads: DownloadTokens;
  log: LogFn;
  baseUrl(): string;
}

/** A verified WeChat API request. */
export interface ApiRequest {
  method: string;
  /** Path and query exactly as sent (the signed canonical URL). */
  url: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  bodyText: string;
  caller: Sender;
}

export interface ApiResponse {
  status: number;
  /** JSON answer; omitted for 204. */
  json?: unknown;
  /** Raw answer (file downloads). */
  raw?: { body: Buffer; contentType: string };
}

export const ok = (json: unknown): ApiResponse => ({ status: 200, json });
