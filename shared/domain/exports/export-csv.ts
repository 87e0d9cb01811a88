import { effectiveState } from "../coupons/coupon-state.js";
import type { CouponRecord, ExportKind, SendRecord } from "../ports.js";

/**
 * The CSV files an export writes (RFC 4180: comma-separated, CRLF line ends, a field quoted when it holds a comma, a
 * quote or a line break, quotes doubled; UTF-8 without a byte-order mark; formula-like text neutralized, `csvField`). The header is the first line; the columns
 * are documented in the README ("Exports") and their order never changes.
 * https://www.rfc-editor.org/rfc/rfc4180
 */
export const EXPORT_COLUMNS = {
  coupons: [
    "coupon_id",
    "openid",
    "out_request_no",
    "stock_id",
    "state",
    "sent_at",
    "used_at",
    "used_amount",
    "coupon_amount",
    "transaction_ids",
    "consume_mchid",
    "refunded_at",
  ],
  failures: ["openid", "out_request_no", "code", "message", "attempts", "failed_at"],
} as const satisfies Record<ExportKind, readonly string[]>;

const CRLF = "\r\n";

/**
 * One CSV field. Text that a spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab or carriage
 * return: WeChat's error messages and flow rows, openids) gets a leading `'`, so it is shown as text
 * (https://owasp.org/www-community/attacks/CSV_Injection); numbers are written as they are. Also used by
 * `GET /reconciliations/{id}/findings.csv`.
 */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = typeof value === "string" && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const line = (values: (string | number | undefined)[]) => `${values.map(csvField).join(",")}${CRLF}`;
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export const headerLine = (what: ExportKind): string => line([...EXPORT_COLUMNS[what]]);

/** One coupon's row; `availableEndTime` turns an unused coupon EXPIRED as `GET /coupons/{coupon_id}` does. */
export function couponLine(r: CouponRecord, availableEndTime: number | undefined, now: number): string {
  return line([
    r.couponId,
    r.openid,
    r.outRequestNo,
    r.stockId,
    effectiveState(r, availableEndTime, now),
    iso(r.sentAt),
    iso(r.usedAt),
    r.usedAmount,
    r.couponAmount,
    // Several only when a refunded coupon was used again; `;` keeps them one field without quoting.
    r.transactionIds.join(";"),
    r.consumeMchid,
    iso(r.refundedAt),
  ]);
}

export function failureLine(r: SendRecord): string {
  return line([r.openid, r.outRequestNo, r.errorCode ?? "UNKNOWN", r.errorMessage, r.attempts, iso(r.updatedAt)]);
}
