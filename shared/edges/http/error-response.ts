import {
  ConflictError,
  DomainError,
  NotFoundError,
  StockUnavailableError,
  ValidationError,
} from "../../domain/errors.js";
import { GatewayError } from "../../domain/gateway.js";
import {
  SignatureVerificationError,
  WechatPayApiError,
  WechatPayError,
  WechatPayValidationError,
} from "../../wechatpay/errors.js";
import { HttpError } from "./http-error.js";
import { errorBody, type HttpResult, json } from "./responses.js";

/**
 * The one mapping from errors to HTTP answers. 4xx answers name the code and the field; anything unexpected becomes a
 * generic 500 carrying only the request id (the error itself goes to the log, never to the caller).
 */
export function errorResponse(error: unknown, requestId: string): { response: HttpResult; expected: boolean } {
  const answer = (
    status: number,
    code: string,
    message: string,
    field?: string,
    headers: Record<string, string> = {},
  ) => ({
    response: json(status, errorBody(code, message, field, { request_id: requestId }), headers),
    expected: status < 500,
  });
  if (error instanceof HttpError)
    return answer(error.statusCode, error.code, error.message, error.field, error.headers);
  // A domain rule may name its own code (START_AT_IN_PAST…); the default is INVALID_ARGUMENT.
  if (error instanceof ValidationError) return answer(400, error.code, error.message, error.field);
  if (error instanceof WechatPayValidationError) return answer(400, "INVALID_ARGUMENT", error.message, error.field);
  if (error instanceof ConflictError) return answer(409, error.code, error.message, error.field);
  if (error instanceof NotFoundError) return answer(404, error.code, error.message, error.field);
  // The stock a campaign names cannot serve it (pre-flight of create and resume): the request is well formed.
  if (error instanceof StockUnavailableError) return answer(422, error.code, error.message, error.field);
  // A WeChat call the domain made through its port (the pre-flight's stock query) failed: the check decided nothing,
  // so the same request may be retried (a 429 too: the caller retries the request, not a WeChat call of its own).
  if (error instanceof GatewayError) {
    if (error.kind === "retryable" || error.kind === "rate_limited") {
      return answer(
        503,
        "WECHATPAY_UNAVAILABLE",
        `WeChat Pay did not answer (${error.code}); retry the same request`,
        undefined,
        { "retry-after": "2" },
      );
    }
    return errorResponse(error.cause ?? new Error(error.code), requestId);
  }
  if (error instanceof WechatPayApiError) return wechatApiAnswer(error, answer);
  if (error instanceof SignatureVerificationError) {
    return answer(502, "WECHATPAY_BAD_SIGNATURE", "WeChat Pay's answer failed signature verification");
  }
  if (error instanceof WechatPayError && (error.code === "TIMEOUT" || error.code === "NETWORK_ERROR")) {
    return answer(503, "WECHATPAY_UNAVAILABLE", "WeChat Pay did not answer; retry with the same request", undefined, {
      "retry-after": "2",
    });
  }
  if (error instanceof DomainError && error.code === "QUEUE_UNAVAILABLE") {
    return answer(503, error.code, "a queue of the service is unavailable; retry the same request", undefined, {
      "retry-after": "2",
    });
  }
  return answer(500, "INTERNAL_ERROR", "internal error; quote request_id when reporting it");
}

type Answer = (
  status: number,
  code: string,
  message: string,
  field?: string,
  headers?: Record<string, string>,
) => {
  response: HttpResult;
  expected: boolean;
};

function wechatApiAnswer(error: WechatPayApiError, answer: Answer) {
  const wechatMessage = `WeChat Pay: ${error.message}`;
  if (error.statusCode === 401) {
    // WeChat refused *our* signature: a configuration problem on the service side, not the caller's.
    return answer(
      502,
      "WECHATPAY_AUTH_FAILED",
      "WeChat Pay refused the merchant signature; check the merchant key and serial",
    );
  }
  if (error.statusCode === 429) return answer(429, "RATE_LIMITED", wechatMessage, undefined, { "retry-after": "1" });
  if (error.statusCode >= 500) {
    return answer(503, "WECHATPAY_UNAVAILABLE", wechatMessage, undefined, { "retry-after": "2" });
  }
  return answer(error.statusCode, error.code, wechatMessage);
}
