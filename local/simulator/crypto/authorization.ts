/**
 * Fields of `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",…`
 * (docs/wechatpay-apiv3-security.md#request-signing).
 */
export interface AuthorizationFields {
  mchid: string;
  nonce_str: string;
  timestamp: string;
  serial_no: string;
  signature: string;
}

export const AUTH_SCHEME = "WECHATPAY2-SHA256-RSA2048";
const REQUIRED = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"] as const;

/** Parses the header; returns a reason string when it is not in WeChat's format. Order of pairs is free. */
export function parseAuthorization(header: string | undefined): AuthorizationFields | string {
  if (!header) return "authorization header missing";
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space) !== AUTH_SCHEME) return "authorization schema not supported";
  const values: Record<string, string> = {};
  const pair = /\s*([a-z_]+)="([^"]*)"\s*(?:,|$)/gy;
  const rest = header.slice(space + 1);
  let match: RegExpExecArray | null = pair.exec(rest);
  let consumed = 0;
  while (match) {
    values[match[1]!] = match[2]!;
    consumed = pair.lastIndex;
    match = pair.exec(rest);
  }
  if (consumed !== rest.length) return "authorization header malformed";
  for (const key of REQUIRED) if (!values[key]) return `authorization ${key} missing`;
  return values as unknown as AuthorizationFields;
}
