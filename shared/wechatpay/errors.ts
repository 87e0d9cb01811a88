/**
 * Errors of the WeChat Pay client. Every class carries a stable `code`; none ever holds key material,
 * the APIv3 key or a decrypted payload.
 */
export class WechatPayError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WechatPayError";
    this.code = code;
  }
}

/** Request data that breaks WeChat's documented rules, found before any network call. */
export class WechatPayValidationError extends WechatPayError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("INVALID_ARGUMENT", `${field}: ${message}`);
    this.name = "WechatPayValidationError";
    this.field = field;
  }
}

export type SignatureFailureReason =
  | "MISSING_HEADER"
  | "MALFORMED_HEADER"
  | "BAD_TIMESTAMP"
  | "TIMESTAMP_OUT_OF_WINDOW"
  | "SIGNATURE_PROBE"
  | "UNKNOWN_SERIAL"
  | "SIGNATURE_MISMATCH";

/** A response or notification whose WeChat Pay signature does not hold. Never retried. */
export class SignatureVerificationError extends WechatPayError {
  readonly reason: SignatureFailureReason;
  readonly serial: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    reason: SignatureFailureReason,
    message: string,
    details: { serial?: string; requestId?: string } = {},
    options?: ErrorOptions,
  ) {
    super(`SIGNATURE_${reason}`, message, options);
    this.name = "SignatureVerificationError";
    this.reason = reason;
    this.serial = details.serial;
    this.requestId = details.requestId;
  }
}

/** AEAD_AES_256_GCM could not open a resource: wrong APIv3 key, tampered data or a bad format. */
export class DecryptionError extends WechatPayError {
  constructor(message: string, options?: ErrorOptions) {
    super("DECRYPTION_FAILED", message, options);
    this.name = "DecryptionError";
  }
}

/** A notification that is not a well-formed WeChat Pay event envelope. */
export class NotificationFormatError extends WechatPayError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("MALFORMED_NOTIFICATION", `${field}: ${message}`);
    this.name = "NotificationFormatError";
    this.field = field;
  }
}

/** The request never got an HTTP answer (DNS, connect, reset, timeout). Outcome unknown for writes. */
export class TransportError extends WechatPayError {
  readonly timedOut: boolean;
  constructor(message: string, options: ErrorOptions & { timedOut?: boolean } = {}) {
    super(options.timedOut ? "TIMEOUT" : "NETWORK_ERROR", message, options);
    this.name = "TransportError";
    this.timedOut = options.timedOut ?? false;
  }
}

export interface WechatPayApiErrorInit {
  statusCode: number;
  code: string;
  message: string;
  detail?: unknown;
  requestId?: string;
}

/** WeChat answered with a non-2xx status and an error body `{code, message, detail}`. */
export class WechatPayApiError extends WechatPayError {
  readonly statusCode: number;
  readonly detail: unknown;
  readonly requestId: string | undefined;
  constructor(init: WechatPayApiErrorInit) {
    super(init.code, `WeChat Pay ${init.statusCode} ${init.code}: ${init.message}`);
    this.name = "WechatPayApiError";
    this.statusCode = init.statusCode;
    this.detail = init.detail;
    this.requestId = init.requestId;
  }

  /** Whether sending the same request again (same out_request_no) may succeed: act on status, since 429 code names vary. */
  get retryable(): boolean {
    return this.statusCode === 429 || this.statusCode >= 500 || this.code === "SYSTEM_ERROR";
  }
}

/** True when `error` is a WeChat API error, optionally with the given code (like wechatpay-go's IsAPIError). */
export function isWechatPayApiError(error: unknown, code?: string): error is WechatPayApiError {
  return error instanceof WechatPayApiError && (code === undefined || error.code === code);
}

/** Whether a failed call may be repeated with the same request: network failures, timeouts, 429 and 5xx. */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof TransportError) return true;
  if (error instanceof WechatPayApiError) return error.retryable;
  return false;
}

/** A downloaded use/refund-flow file whose SHA-1 is not the `hash_value` WeChat announced: truncated or altered. */
export class FlowFileIntegrityError extends WechatPayError {
  readonly expectedHash: string;
  readonly actualHash: string;
  constructor(expectedHash: string, actualHash: string) {
    super(
      "FLOW_FILE_HASH_MISMATCH",
      `flow file SHA-1 ${actualHash} does not match hash_value ${expectedHash}: the download was truncated or altered`,
    );
    this.name = "FlowFileIntegrityError";
    this.expectedHash = expectedHash;
    this.actualHash = actualHash;
  }
}

/** A use/refund-flow file that does not read as WeChat's flow format; `line` is 1-based (0: not tied to a line). */
export class FlowFileFormatError extends WechatPayError {
  readonly line: number;
  constructor(message: string, line: number) {
    super("FLOW_FILE_MALFORMED", line > 0 ? `flow file line ${line}: ${message}` : `flow file: ${message}`);
    this.name = "FlowFileFormatError";
    this.line = line;
  }
}

/** A /v3/certificates item that cannot be trusted: its decrypted certificate does not carry the announced serial. */
export class PlatformCertificateError extends WechatPayError {
  readonly serial: string;
  constructor(serial: string, message: string, options?: ErrorOptions) {
    super("PLATFORM_CERTIFICATE_INVALID", message, options);
    this.name = "PlatformCertificateError";
    this.serial = serial;
  }
}
