import { FlowFileFormatError } from "../errors.js";

/**
 * Streaming reader of WeChat's use-flow and refund-flow files (docs/wechatpay-cash-coupons.md#file-format): a header
 * line of column titles, one line per record whose values carry a leading back-quote (`` `value ``, so spreadsheets
 * keep ids as text; some trailing values come quoted instead, `""`), CRLF line ends, then a summary: a line of
 * titles starting with `总条数` and a line of back-quoted values. Records are yielded one at a time as the bytes
 * arrive, so a file of any size is never held in memory.
 */

/** One record: values (back-quote and quotes removed) keyed by WeChat's column titles. */
export type FlowRecord = Record<string, string>;

/** What the reader has seen so far; complete once the iteration has ended without an error. */
export interface FlowCsvProgress {
  /** The header's column titles (empty until the header has been read). */
  columns: string[];
  /** Records yielded. */
  rows: number;
  /** 1-based number of the line being read (for error messages). */
  line: number;
  /** The summary (`{总条数: "2"}`), once read. */
  summary: Record<string, string> | undefined;
}

export interface ReadFlowCsvOptions {
  /** Column titles the header must have; a missing one fails before any record with FlowFileFormatError. */
  requiredColumns?: readonly string[];
  /** Filled in as the file is read; pass one to read the header, count and summary after the loop. */
  progress?: FlowCsvProgress;
}

export const TOTAL_COUNT_TITLE = "总条数";
const SUMMARY_MARK = "总";

export const newFlowCsvProgress = (): FlowCsvProgress => ({ columns: [], rows: 0, line: 0, summary: undefined });

/** Removes the back-quote WeChat puts in front of values, and surrounding blanks. */
const clean = (value: string): string => (value.charCodeAt(0) === 0x60 ? value.slice(1) : value).trim();

/** Splits one logical line into raw values (RFC 4180 quoting: `""` inside quotes is a quote). */
function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
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
  if (quoted) throw new FlowFileFormatError("a quoted value is not closed", 0);
  values.push(current);
  return values;
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) count++;
  return count;
}

/** Lines of a UTF-8 byte stream (CRLF or LF), decoded across chunk boundaries; a quoted value may span lines. */
async function* logicalLines(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  let open = ""; // a line whose quotes are not balanced yet
  const take = (line: string): string | undefined => {
    const text = open ? `${open}\n${line}` : line;
    if (countQuotes(text) % 2 === 1) {
      open = text;
      return undefined;
    }
    open = "";
    return text;
  };
  for await (const chunk of chunks) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n", start)) {
      const raw = pending.charCodeAt(end - 1) === 0x0d ? pending.slice(start, end - 1) : pending.slice(start, end);
      start = end + 1;
      const line = take(raw);
      if (line !== undefined) yield line;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending !== "") {
    const line = take(pending.endsWith("\r") ? pending.slice(0, -1) : pending);
    if (line !== undefined) yield line;
  }
  if (open) yield open;
}

/**
 * Reads a flow file as it arrives and yields one record per data line. Ends by checking the summary: it must be
 * there, and its `总条数` must equal the records read (a file cut short fails here even without a hash).
 *
 * @example
 * for await (const record of readFlowCsv(body)) console.log(record["优惠id"]);
 */
export async function* readFlowCsv(
  chunks: AsyncIterable<Uint8Array | string>,
  options: ReadFlowCsvOptions = {},
): AsyncGenerator<FlowRecord, void, undefined> {
  const progress = options.progress ?? newFlowCsvProgress();
  let summaryTitles: string[] | undefined;
  const fail = (message: string): never => {
    throw new FlowFileFormatError(message, progress.line);
  };
  const split = (line: string): string[] => {
    try {
      return splitLine(line);
    } catch (error) {
      return fail((error as Error).message);
    }
  };
  for await (const text of logicalLines(chunks)) {
    progress.line += 1 + (text.match(/\n/g)?.length ?? 0);
    const line = progress.line === 1 ? text.replace(/^\uFEFF/, "") : text;
    if (line.trim() === "") continue;
    if (progress.columns.length === 0) {
      progress.columns = split(line).map(clean);
      const missing = (options.requiredColumns ?? []).filter((title) => !progress.columns.includes(title));
      if (missing.length)
        fail(`the header has no column ${missing.join(", ")} (it has ${progress.columns.join(", ")})`);
      continue;
    }
    if (progress.summary) fail("a line follows the summary");
    const values = split(line).map(clean);
    if (summaryTitles) {
      progress.summary = Object.fromEntries(summaryTitles.map((title, i) => [title, values[i] ?? ""]));
      continue;
    }
    if (values[0]!.startsWith(SUMMARY_MARK) && !line.startsWith("`")) {
      summaryTitles = values;
      continue;
    }
    if (values.length !== progress.columns.length)
      fail(`${values.length} values where the header has ${progress.columns.length} columns`);
    const record: FlowRecord = {};
    for (let i = 0; i < values.length; i++) record[progress.columns[i]!] = values[i]!;
    progress.rows += 1;
    yield record;
  }
  if (progress.columns.length === 0) fail("the file is empty: no header");
  if (!progress.summary) fail(`no ${TOTAL_COUNT_TITLE} summary at the end: the file is incomplete`);
  const total = progress.summary![TOTAL_COUNT_TITLE];
  if (total !== undefined && (!/^\d+$/.test(total) || Number(total) !== progress.rows))
    fail(`the summary's ${TOTAL_COUNT_TITLE} is ${total}, the file has ${progress.rows} records`);
}
