import { describe, expect, it } from "vitest";
import { SignatureVerificationError, TransportError, WechatPayApiError } from "#shared/wechatpay/errors.js";
import { createApiError } from "#shared/wechatpay/transport/api-error.js";
import { backoffDelayMs, shouldRetry } from "#shared/wechatpay/transport/should-retry.js";

const api = (statusCode: number, code = "X") => new WechatPayApiError({ statusCode, code, message: "m" });
const idempotent = { idempotent: true, maxAttempts: 3 };

describe("shouldRetry", () => {
  it.each([
    [
      "a network error on an idempotent request: retry on the other host",
      new TransportError("x"),
      1,
      idempotent,
      { retry: true, failover: true },
    ],
    [
      "a timeout: retry on the other host",
      new TransportError("x", { timedOut: true }),
      2,
      idempotent,
      { retry: true, failover: true },
    ],
    ["a 500: retry on the same host", api(500, "SYSTEM_ERROR"), 1, idempotent, { retry: true, failover: false }],
    ["a 429: retry on the same host", api(429, "FREQUENCY_LIMITED"), 1, idempotent, { retry: true, failover: false }],
    [
      "a 429 for a caller with its own rate control: back to the caller",
      api(429, "FREQUENCY_LIMITED"),
      1,
      { ...idempotent, retryRateLimited: false },
      { retry: false },
    ],
    [
      "a 500 for that caller: still retried here",
      api(500, "SYSTEM_ERROR"),
      1,
      { ...idempotent, retryRateLimited: false },
      { retry: true, failover: false },
    ],
    ["SYSTEM_ERROR under a 4xx status", api(400, "SYSTEM_ERROR"), 1, idempotent, { retry: true, failover: false }],
    ["the last attempt", api(500), 3, idempotent, { retry: false }],
    ["a non-idempotent write after a 500", api(500), 1, { idempotent: false, maxAttempts: 3 }, { retry: false }],
    [
      "a non-idempotent write after a network error",
      new TransportError("x"),
      1,
      { idempotent: false, maxAttempts: 3 },
      { retry: false },
    ],
    ["a business refusal", api(403, "NOT_ENOUGH"), 1, idempotent, { retry: false }],
    [
      "an answer whose signature fails",
      new SignatureVerificationError("SIGNATURE_MISMATCH", "x"),
      1,
      idempotent,
      { retry: false },
    ],
    ["a programming error", new TypeError("x"), 1, idempotent, { retry: false }],
  ])("%s", (_name, outcome, attempt, request, decision) => {
    expect(shouldRetry(outcome, attempt, request)).toEqual(decision);
  });
});

describe("backoffDelayMs", () => {
  const options = { baseDelayMs: 200, maxDelayMs: 5_000 };
  it("draws uniformly below base × 2^(attempt-1), capped", () => {
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, options, () => 0.999))).toEqual([199, 399, 799, 1598]);
    expect(backoffDelayMs(10, options, () => 0.5)).toBe(2_500);
    expect(backoffDelayMs(3, options, () => 0)).toBe(0);
  });
});

describe("createApiError", () => {
  it("reads WeChat's error body", () => {
    const error = createApiError(403, '{"code":"RULE_LIMIT","message":"用户已达最大领券次数"}', "rid");
    expect(error).toMatchObject({ statusCode: 403, code: "RULE_LIMIT", requestId: "rid", retryable: false });
  });

  it.each([
    ["", "no error body"],
    ["<html><body>502 Bad Gateway</body></html>", "unrecognised error body: <html><body>502 Bad Gateway</body></html>"],
    ['{"message":"no code"}', 'unrecognised error body: {"message":"no code"}'],
    ["[1,2]", "unrecognised error body: [1,2]"],
  ])("turns %j into HTTP_<status>", (body, message) => {
    const error = createApiError(502, body, undefined);
    expect(error.code).toBe("HTTP_502");
    expect(error.message).toContain(message);
    expect(error.retryable).toBe(true);
  });
});
