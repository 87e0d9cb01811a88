import { describe, expect, it } from "vitest";
import { StockUnavailableError } from "#shared/domain/errors.js";
import { GatewayError } from "#shared/domain/gateway.js";
import { errorResponse } from "#shared/edges/http/error-response.js";
import { SignatureVerificationError } from "#shared/wechatpay/errors.js";

const bodyOf = (r: ReturnType<typeof errorResponse>) =>
  JSON.parse(r.response.body as string) as Record<string, unknown>;

describe("errorResponse for the stock pre-flight", () => {
  it("answers a stock that cannot serve the campaign 422 with its code and field stock_id", () => {
    const answer = errorResponse(new StockUnavailableError("STOCK_NOT_RUNNING", "stock_id: stock 1 is paused"), "r1");
    expect(answer).toMatchObject({ expected: true, response: { statusCode: 422 } });
    expect(bodyOf(answer)).toMatchObject({ code: "STOCK_NOT_RUNNING", field: "stock_id", request_id: "r1" });
  });

  it.each([
    ["a 5xx", new GatewayError("retryable", "SYSTEM_ERROR", "WeChat 500", 500)],
    ["a timeout", new GatewayError("retryable", "TIMEOUT", "no answer")],
    ["a 429", new GatewayError("rate_limited", "FREQUENCY_LIMIT_EXCEED", "WeChat 429", 429)],
  ])("answers WeChat failing the stock query (%s) 503 with Retry-After: nothing was refused", (_, error) => {
    const answer = errorResponse(error, "r2");
    expect(answer.response.statusCode).toBe(503);
    expect(answer.response.headers).toMatchObject({ "retry-after": "2" });
    expect(bodyOf(answer)).toMatchObject({ code: "WECHATPAY_UNAVAILABLE" });
  });

  it("answers our keys failing (a misconfigured gateway) as the client's error it wraps: 502", () => {
    const cause = new SignatureVerificationError("SIGNATURE_MISMATCH", "answer did not verify");
    const answer = errorResponse(
      new GatewayError("misconfigured", cause.code, cause.message, undefined, { cause }),
      "r3",
    );
    expect(answer.response.statusCode).toBe(502);
    expect(bodyOf(answer)).toMatchObject({ code: "WECHATPAY_BAD_SIGNATURE" });
  });
});
