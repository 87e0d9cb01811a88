import { GatewayError } from "../../domain/gateway.js";
import {
  SignatureVerificationError,
  TransportError,
  WechatPayApiError,
  WechatPayValidationError,
} from "../../wechatpay/errors.js";

/**
 * Maps the WeChat client's errors onto the domain's retry vocabulary. The decision keys on HTTP status, not on code
 * names (WeChat's 429 code has several spellings).
 */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof WechatPayApiError) {
    const kind =
      error.statusCode === 429
        ? "rate_limited"
        : error.statusCode >= 500 || error.code === "SYSTEM_ERROR"
          ? "retryable"
          : error.statusCode === 401
            ? "misconfigured"
            : "refused";
    return new GatewayError(kind, error.code, error.message, error.statusCode, { cause: error });
  }
  if (error instanceof TransportError) {
    return new GatewayError("retryable", error.code, error.message, undefined, { cause: error });
  }
  if (error instanceof SignatureVerificationError) {
    // WeChat may have acted on the request, but its answer cannot be trusted: retry with the same out_request_no
    // once the keys are right, without burning the send as failed.
    return new GatewayError("misconfigured", error.code, error.message, undefined, { cause: error });
  }
  if (error instanceof WechatPayValidationError) {
    return new GatewayError("refused", "INVALID_ARGUMENT", error.message, 400, { cause: error });
  }
  throw error;
}
