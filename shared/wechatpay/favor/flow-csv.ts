/**
 * Parser for the use/refund-flow files (observed format,
 * docs/wechatpay-cash-coupons.md#use-flow-and-refund-flow-files-e13-e14): a header line, one line per record whose
 * values are prefixed with a back-tick (so spreadsheets keep them as text), CRLF line ends, and a footer `总条数` followed
 * by the back-ticked record count.
 */

export interface FlowTable {
  columns: string[];
  /** One object per record, keyed by column name, values without the back-tick. */
  rows: Record<string, string>[];
  /** The count announced in the `总条数` footer, when present. */
  totalCount: number | undefined;
}

const FOOTER = "总条数";

/** Splits one CSV line (RFC 4180 quoting: "" inside quotes is a quote). */
function splitLine(line: string): string[] {
  const values: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"' && (current === "" || current === "`")) quoted = true;
    else if (char === ",") {
      values.push(current);
      current = "";
    } else current += char;
  }
  values.push(current);
  return values;
}

const clean = (value: string): string => (value.startsWith("`") ? value.slice(1) : value).trim();

/**
 * Reads a flow file into rows.
 * @example
 * parseFlowCsv("批次id,优惠id\r\n`1,`2\r\n总条数\r\n`1\r\n").rows // [{ 批次id: "1", 优惠id: "2" }]
 */
export function parseFlowCsv(text: string): FlowTable {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const columns = splitLine(lines[0] ?? "").map(clean);
  const rows: Record<string, string>[] = [];
  let totalCount: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    if (clean(line) === FOOTER) {
      const count = clean(lines[i + 1] ?? "");
      totalCount = /^\d+$/.test(count) ? Number(count) : undefined;
      break;
    }
    const values = splitLine(line).map(clean);
    rows.push(Object.fromEntries(columns.map((column, index) => [column, values[index] ?? ""])));
  }
  return { columns, rows, totalCount };
}
