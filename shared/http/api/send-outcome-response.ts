import type { SendOutcome } from "../../domain/sends/send-coupon.js";
import { HttpError } from "../http-error.js";
import { errorBody, type HttpResult, json } from "../responses.js";

/** HTTP status of a final WeChat refusal, as WeChat itself answers it (spec §1.14). */
export const REFUSAL_STATUS: Record<string, number> = {
  PARAM_ERROR: 400,
  INVALID_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  APPID_MCHID_NOT_MATCH: 400,
  MCH_NOT_EXISTS: 400,
  RESOURCE_ALREADY_EXISTS: 409,
  NOT_ENOUGH: 403,
  RULE_LIMIT: 403,
  REQUEST_BLOCKED: 403,
  USER_ACCOUNT_ABNORMAL: 403,
  NO_AUTH: 403,
  RESOURCE_NOT_EXISTS: 404,
};

/** The answer of POST /coupons for a send outcome; stored refusals replay with the same status and code. */
export function sendOutcomeResponse(outcome: SendOutcome, outRequestNo: string, requestId: string): HttpResult {
  switch (outcome.status) {
    case "SENT":
      return json(200, { coupon_id: outcome.couponId, out_request_no: outRequestNo, replayed: outcome.replayed });
    case "FAILED":
      return json(
        REFUSAL_STATUS[outcome.code] ?? 422,
        errorBody(outcome.code, outcome.message, undefined, {
          out_request_no: outRequestNo,
          replayed: outcome.replayed,
          request_id: requestId,
        }),
      );
    case "RETRY":
      throw retryLaterError(outcome, "the send");
    case "IN_PROGRESS":
      throw new HttpError(
        409,
        "REQUEST_IN_PROGRESS",
        "a send with this out_request_no is in progress; retry shortly",
        "out_request_no",
        {
          "retry-after": String(Math.ceil(outcome.retryAfterMs / 1000)),
        },
      );
  }
}

/** WeChat did not finish a keyed request: 429 when it is rate limiting (slow down), 503 otherwise; same key again. */
export function retryLaterError(outcome: { code: string; rateLimited: boolean }, what: string): HttpError {
  return outcome.rateLimited
    ? new HttpError(429, "RATE_LIMITED", "WeChat Pay is rate limiting; retry with the same out_request_no", undefined, {
        "retry-after": "1",
      })
    : new HttpError(
        503,
        "WECHATPAY_UNAVAILABLE",
        `WeChat Pay did not complete ${what} (${outcome.code}); retry with the same out_request_no`,
        undefined,
        { "retry-after": "2" },
      );
}
