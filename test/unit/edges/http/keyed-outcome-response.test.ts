import { describe, expect, it } from "vitest";
import type { Retry } from "#shared/domain/keyed-call.js";
import type { SendRecord } from "#shared/domain/ports.js";
import type { HoldReason } from "#shared/domain/sends/failure-policy.js";
import { keyedOutcomeResponse } from "#shared/edges/http/api/keyed-outcome-response.js";
import { HttpError } from "#shared/edges/http/http-error.js";

// POST /coupons' answer to a send held rather than recorded: whose problem it is, by status and code.

const record = { mchid: "1900000001", outRequestNo: "k1", state: "PENDING" } as SendRecord;
const held = (reason: HoldReason, code: string): Retry<SendRecord> => ({
  status: "RETRY",
  code,
  message: `WeChat Pay refused (${code})`,
  rateLimited: false,
  needsOperator: false,
  hold: { reason },
  record,
});

function answerTo(outcome: Retry<SendRecord>): HttpError {
  try {
    keyedOutcomeResponse(outcome, { requestId: "r1", what: "send", succeeded: () => ({ statusCode: 200 }) as never });
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("a held send was answered as a success");
}

describe("keyedOutcomeResponse for a held send", () => {
  it.each([
    ["merchant_not_permitted", "MERCHANT_NOT_PERMITTED", 403, undefined],
    ["appid_not_bound", "APPID_NOT_BOUND", 403, "appid"],
    ["credentials_refused", "WECHATPAY_AUTH_FAILED", 502, undefined],
    ["stock_not_running", "STOCK_NOT_RUNNING", 409, "stock_id"],
    ["stock_budget_exhausted", "STOCK_BUDGET_EXHAUSTED", 409, "stock_id"],
  ] as const)("%s → %i %s", (reason, code, status, field) => {
    const answer = answerTo(held(reason, code));
    expect(answer).toMatchObject({ statusCode: status, code });
    expect(answer.field).toBe(field);
    expect(answer.message).toContain("no outcome was recorded");
    expect(answer.message).toContain("same out_request_no");
  });
});
