/**
 * Errors of the domain and of the adapters behind its ports. Every class carries a stable machine-readable `code`;
 * errors about bad input also name the `field`. No message ever holds key material, the APIv3 key, a secret value
 * or a decrypted payload.
 */
export class DomainError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DomainError";
    this.code = code;
  }
}

/**
 * An idempotency key (out_request_no, campaign id, …) was reused for a different request, or a record would move to
 * a state that contradicts what is stored (e.g. a second, different coupon_id for one send). Maps to HTTP 409.
 */
export class ConflictError extends DomainError {
  readonly field: string;
  constructor(code: string, field: string, message: string) {
    super(code, message);
    this.name = "ConflictError";
    this.field = field;
  }
}

/** A record the operation needs does not exist. Maps to HTTP 404 at the edge, or to a poison message in a worker. */
export class NotFoundError extends DomainError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("NOT_FOUND", message);
    this.name = "NotFoundError";
    this.field = field;
  }
}

/**
 * The stock a campaign names cannot serve it (the pre-flight of create and resume): missing, another merchant's, not
 * running, outside its time window, or short of budget. `code` names the problem (STOCK_NOT_FOUND, …); maps to 422.
 */
export class StockUnavailableError extends DomainError {
  readonly field = "stock_id";
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "StockUnavailableError";
  }
}

/** Input that breaks a rule; `field` names the offending field (never its value when the value may be secret). */
export class ValidationError extends DomainError {
  readonly field: string;
  constructor(field: string, message: string, code = "INVALID_ARGUMENT") {
    super(code, `${field}: ${message}`);
    this.name = "ValidationError";
    this.field = field;
  }
}

export type SecretErrorCode = "SECRET_NOT_FOUND" | "SECRET_UNAVAILABLE" | "SECRET_MALFORMED" | "SECRET_FIELD_INVALID";

/**
 * The merchant secret could not be loaded or is malformed. The message names the secret id and the field, never a
 * value: not even a fragment of the JSON (Node's JSON.parse messages quote the input, so they are never passed on).
 */
export class SecretError extends DomainError {
  readonly field: string | undefined;
  constructor(code: SecretErrorCode, message: string, options: ErrorOptions & { field?: string } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SecretError";
    this.field = options.field;
  }
}

/** A queue refused some messages even after retries. `failedCount` of them were not enqueued; the caller must retry. */
export class QueueError extends DomainError {
  readonly failedCount: number;
  readonly failedCodes: string[];
  constructor(message: string, failedCount: number, failedCodes: string[], options?: ErrorOptions) {
    super("QUEUE_UNAVAILABLE", message, options);
    this.name = "QueueError";
    this.failedCount = failedCount;
    this.failedCodes = failedCodes;
  }
}

/** A queue message body that is not a well-formed message of the expected kind: a poison message, never retried. */
export class MessageFormatError extends DomainError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("MALFORMED_MESSAGE", `${field}: ${message}`);
    this.name = "MessageFormatError";
    this.field = field;
  }
}

/**
 * A WeChat call that was not made: the caller's check right before the request (`beforeRequest`,
 * shared/domain/gateway.ts) said no. Nothing was sent; shared/domain/keyed-call.ts drops the lease as it is.
 */
export class CallWithheldError extends DomainError {
  constructor(message: string) {
    super("CALL_WITHHELD", message);
  }
}
