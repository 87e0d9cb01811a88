import { WechatPayApiError } from "../errors.js";

const MAX_MESSAGE_CHARS = 200;

/**
 * The one place a non-2xx answer becomes an error (like Stripe's generateV1Error). WeChat's error body is
 * `{code, message, detail?}`; a proxy or gateway may answer HTML or nothing, which becomes code `HTTP_<status>`.
 */
export function createApiError(statusCode: number, body: string, requestId: string | undefined): WechatPayApiError {
  const parsed = parseErrorBody(body);
  if (parsed) return new WechatPayApiError({ statusCode, ...parsed, ...(requestId ? { requestId } : {}) });
  const text = body.replace(/\s+/g, " ").trim().slice(0, MAX_MESSAGE_CHARS);
  return new WechatPayApiError({
    statusCode,
    code: `HTTP_${statusCode}`,
    message: text === "" ? "no error body" : `unrecognised error body: ${text}`,
    ...(requestId ? { requestId } : {}),
  });
}

function parseErrorBody(body: string): { code: string; message: string; detail?: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { code, message, detail } = value as Record<string, unknown>;
  if (typeof code !== "string" || code === "") return undefined;
  return {
    code,
    message: typeof message === "string" ? message : "",
    ...(detail === undefined ? {} : { detail }),
  };
}
