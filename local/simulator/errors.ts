/** Base class for the simulator's own failures (bad options, unreadable state), not WeChat API answers. */
export class SimulatorError extends Error {
  readonly code: string;
  readonly field: string | undefined;

  constructor(code: string, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SimulatorError";
    this.code = code;
    this.field = options?.field;
  }
}

/**
 * A WeChat-shaped API error: `{code, message, detail?}` with the given HTTP status
 * (docs/wechatpay-apiv3-security.md#error-body).
 */
export class WechatApiError extends SimulatorError {
  readonly status: number;
  readonly detail: unknown;

  constructor(status: number, code: string, message: string, detail?: unknown, field?: string) {
    super(code, message, field === undefined ? undefined : { field });
    this.name = "WechatApiError";
    this.status = status;
    this.detail = detail;
  }

  toBody(): { code: string; message: string; detail?: unknown } {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

/** 400 PARAM_ERROR pointing at a body field (`/stock_use_rule/max_coupons`). */
export function paramError(message: string, field?: string, location = "body", value?: unknown): WechatApiError {
  if (field === undefined) return new WechatApiError(400, "PARAM_ERROR", message);
  const detail: Record<string, unknown> = { field, location };
  if (value !== undefined) detail["value"] = value;
  return new WechatApiError(400, "PARAM_ERROR", message, detail, field);
}

export const invalidRequest = (message: string, detail?: unknown) =>
  new WechatApiError(400, "INVALID_REQUEST", message, detail);
export const notFound = (message: string) => new WechatApiError(404, "RESOURCE_NOT_EXISTS", message);
export const requestBlocked = (message: string) => new WechatApiError(403, "REQUEST_BLOCKED", message);
export const systemError = () => new WechatApiError(500, "SYSTEM_ERROR", "系统异常，请用相同参数重新调用");
