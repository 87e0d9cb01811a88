import { setTimeout as sleep } from "node:timers/promises";
import {
  type Failed,
  finalOutcome,
  type InProgress,
  type KeyedOutcome,
  type Retry,
  type Succeeded,
} from "../../../domain/keyed-call.js";
import type { KeyedRecord, LedgerKey } from "../../../domain/ports.js";
import { type HoldReason, MERCHANT_HOLD_CODES, type MerchantHoldReason } from "../../../domain/sends/failure-policy.js";
import { HttpError } from "../http-error.js";
import { errorBody, type HttpResult, json } from "../responses.js";

/**
 * HTTP status of a final WeChat refusal: the status WeChat answers the code with (docs/wechatpay-cash-coupons.md#error-codes),
 * except RESOURCE_ALREADY_EXISTS, a 409 here like this API's own key conflicts; a code not listed answers 422.
 */
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

export interface KeyedResponseOptions<R extends KeyedRecord> {
  requestId: string;
  /** What the key names, in messages: "send", "stock creation". */
  what: string;
  /** The answer for a succeeded record. */
  succeeded: (record: R, replayed: boolean) => HttpResult;
}

/**
 * The answer to a keyed request (POST /coupons, POST /stocks) for its outcome. A stored refusal replays with the
 * status and code it was first answered with; an unfinished call asks for the same key again.
 */
export function keyedOutcomeResponse<R extends KeyedRecord>(
  outcome: KeyedOutcome<R>,
  options: KeyedResponseOptions<R>,
): HttpResult {
  switch (outcome.status) {
    case "FAILED":
      return refusal(outcome as Failed<R>, options.requestId);
    case "RETRY":
      throw retryLater(outcome as Retry<R>, options.what);
    case "IN_PROGRESS": {
      const { retryAfterMs } = outcome as InProgress<R>;
      throw new HttpError(
        409,
        "REQUEST_IN_PROGRESS",
        `a ${options.what} with this out_request_no is in progress; retry shortly`,
        "out_request_no",
        { "retry-after": String(Math.ceil(retryAfterMs / 1000)) },
      );
    }
    default: {
      const { record, replayed } = outcome as Succeeded<R>;
      return options.succeeded(record, replayed);
    }
  }
}

function refusal<R extends KeyedRecord>(outcome: Failed<R>, requestId: string): HttpResult {
  return json(
    REFUSAL_STATUS[outcome.code] ?? 422,
    errorBody(outcome.code, outcome.message, undefined, {
      out_request_no: outcome.record.outRequestNo,
      replayed: outcome.replayed,
      request_id: requestId,
    }),
  );
}

/**
 * 409 when WeChat refused for the stock (not running, not started, budget exhausted for now: nothing is recorded
 * final, the same key may succeed once the stock serves again), 403 when it refused the merchant (not permitted,
 * appid not bound: the same key may succeed once that is fixed), 502 when it refused the merchant's signature, 429 when WeChat is rate limiting (slow down), 503
 * otherwise; the same key again in every case.
 */
function retryLater<R extends KeyedRecord>(outcome: Retry<R>, what: string): HttpError {
  const hold = outcome.hold;
  if (hold?.reason === "credentials_refused") {
    // WeChat refused *our* signature: the service's configuration, not the caller's (like error-response.ts's 502).
    return new HttpError(
      502,
      outcome.code,
      `WeChat Pay refused the merchant signature; check the merchant key and serial; no outcome was recorded; retry ` +
        `the ${what} with the same out_request_no once fixed`,
    );
  }
  if (hold && isMerchantHold(hold.reason)) {
    return new HttpError(
      403,
      outcome.code,
      `WeChat Pay refused the merchant, not the recipient: ${outcome.message}; no outcome was recorded; retry with ` +
        `the same out_request_no once the merchant ${hold.reason === "appid_not_bound" ? "has the appid bound" : "is permitted to send"}`,
      hold.reason === "appid_not_bound" ? "appid" : undefined,
    );
  }
  if (hold) {
    const wait = hold.untilMs === undefined ? undefined : Math.max(1, Math.ceil((hold.untilMs - Date.now()) / 1000));
    return new HttpError(
      409,
      outcome.code,
      `WeChat Pay refused the ${what} for its stock: ${outcome.message}; no outcome was recorded; retry with the same ` +
        "out_request_no once the stock serves",
      "stock_id",
      wait === undefined ? {} : { "retry-after": String(wait) },
    );
  }
  return outcome.rateLimited
    ? new HttpError(429, "RATE_LIMITED", "WeChat Pay is rate limiting; retry with the same out_request_no", undefined, {
        "retry-after": "1",
      })
    : new HttpError(
        503,
        "WECHATPAY_UNAVAILABLE",
        `WeChat Pay did not complete the ${what} (${outcome.code}); retry with the same out_request_no`,
        undefined,
        { "retry-after": "2" },
      );
}

const isMerchantHold = (reason: HoldReason): reason is MerchantHoldReason => reason in MERCHANT_HOLD_CODES;

/** A duplicate request waits briefly for the first one to finish rather than failing at once. */
export async function waitForFinal<R extends KeyedRecord>(
  ledger: { get(key: LedgerKey): Promise<R | undefined> },
  outcome: KeyedOutcome<R>,
  waitMs: number,
): Promise<KeyedOutcome<R>> {
  if (outcome.status !== "IN_PROGRESS") return outcome;
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    await sleep(25);
    const record = await ledger.get(outcome.record);
    const final = record && finalOutcome(record, true);
    if (final) return final;
  }
  return outcome;
}
