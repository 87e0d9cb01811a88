import { TransportError, WechatPayApiError } from "../errors.js";

export interface RetryPolicyInput {
  /** True when repeating the request cannot act twice: GETs, and writes carrying an out_request_no. */
  idempotent: boolean;
  maxAttempts: number;
  /**
   * Whether a 429 is retried here (default true). A caller with its own rate control (the send worker's governor)
   * says false: retrying at once, outside its budget, only adds to the overload WeChat is reporting.
   */
  retryRateLimited?: boolean;
}

export type RetryDecision = { retry: false } | { retry: true; failover: boolean };

const STOP: RetryDecision = { retry: false };

/**
 * Whether to send a request again after attempt number `attempt` (1-based) failed with `outcome`, and whether the
 * next attempt should go to the other host. Pure: the transport owns the clock, the sleep and the host switch.
 */
export function shouldRetry(outcome: unknown, attempt: number, request: RetryPolicyInput): RetryDecision {
  // The caller's budget of attempts is spent.
  if (attempt >= request.maxAttempts) return STOP;
  // A write without out_request_no may already have acted on WeChat's side; sending it again could act twice.
  if (!request.idempotent) return STOP;
  // No HTTP answer (connection refused, reset, DNS, timeout): the host or the path to it is the likely fault, so
  // the next attempt goes to the other domain (api2), as wechatpay-java's retry-multi-domain does.
  if (outcome instanceof TransportError) return { retry: true, failover: true };
  // 429 and 5xx / SYSTEM_ERROR: WeChat asks for the same request again later ("请用相同参数重新调用").
  if (outcome instanceof WechatPayApiError && outcome.retryable) {
    if (outcome.statusCode === 429 && request.retryRateLimited === false) return STOP;
    return { retry: true, failover: false };
  }
  // Any other answer (4xx business refusal, a bad signature on the answer, a bug) will not change by repeating.
  return STOP;
}

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * "Full jitter" exponential back-off: a uniform delay in [0, min(max, base × 2^(attempt-1))), so that many clients
 * failing together do not retry in lockstep. `random` is injectable for tests.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
