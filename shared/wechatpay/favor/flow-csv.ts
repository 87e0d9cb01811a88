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
  /** True once the whole file has been read and its summary checked. */
  done: boolean;
}

export interface ReadFlowCsvOptions<T> {
  /**
   * Turns each record's values (in column order, back-quotes removed) into what is yielded (typed rows); throwing
   * fails the read. Default: a FlowRecord keyed by the column titles.
   */
  map?: (values: string[], columns: readonly string[]) => T;
  /** Column titles the header must have; a missing one fails before any record with FlowFileFormatError. */
  requiredColumns?: readonly string[];
  /** Filled in as the file is read; pass one to read the header, count and summary after the loop. */
  progress?: FlowCsvProgress;
}

export const TOTAL_COUNT_TITLE = "总条数";
const SUMMARY_MARK = "总";

export const newFlowCsvProgress = (): FlowCsvProgress => ({
  columns: [],
  rows: 0,
  line: 0,
  summary: undefined,
  done: false,
});

/** Removes the back-quote WeChat puts in front of values, and surrounding blanks. */
const clean = (value: string): string => (value.charCodeAt(0) === 0x60 ? value.slice(1) : value).trim();

/**
 * Splits one logical line into raw values (RFC 4180 quoting: `""` inside quotes is a quote; WeChat puts the
 * back-quote before or inside the quotes). Splits on every comma first and rejoins the pieces of a quoted value that
 * held commas: lines of WeChat's files carry only empty quoted values, so this stays a plain `split`.
 */
function splitLine(line: string): string[] {
  const pieces = line.split(",");
  if (!line.includes('"')) return pieces;
  const values: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    let piece = pieces[i]!;
    const quoteAt = piece.charCodeAt(0) === 0x60 ? 1 : 0; // `"…" or "…"
    if (piece.charCodeAt(quoteAt) !== 0x22) {
      values.push(piece);
      continue;
    }
    // a quoted value: take pieces until its quotes balance, then unquote
    while (countQuotes(piece) % 2 === 1) {
      if (i + 1 >= pieces.length) throw new FlowFileFormatError("a quoted value is not closed", 0);
      piece += `,${pieces[++i]}`;
    }
    const close = piece.lastIndexOf('"');
    if (close <= quoteAt || piece.slice(close + 1).trim() !== "")
      throw new FlowFileFormatError("text after a quoted value", 0);
    values.push(piece.slice(quoteAt + 1, close).replaceAll('""', '"'));
  }
  return values;
}

function countQuotes(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) count++;
  return count;
}

/**
 * The logical lines of a UTF-8 byte stream (CRLF or LF), decoded across chunk boundaries, a batch per chunk (one
 * await per chunk, not per line); a quoted value may span lines.
 */
async function* lineBatches(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  let open = ""; // a line whose quotes are not balanced yet
  const take = (line: string, batch: string[]) => {
    const text = open ? `${open}\n${line}` : line;
    if (line.includes('"') && countQuotes(text) % 2 === 1) open = text;
    else {
      open = "";
      batch.push(text);
    }
  };
  for await (const chunk of chunks) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    const batch: string[] = [];
    let start = 0;
    for (let end = pending.indexOf("\n"); end !== -1; end = pending.indexOf("\n", start)) {
      take(pending.charCodeAt(end - 1) === 0x0d ? pending.slice(start, end - 1) : pending.slice(start, end), batch);
      start = end + 1;
    }
    pending = pending.slice(start);
    if (batch.length) yield batch;
  }
  pending += decoder.decode();
  const last: string[] = [];
  if (pending !== "") take(pending.endsWith("\r") ? pending.slice(0, -1) : pending, last);
  if (open) last.push(open);
  if (last.length) yield last;
}

function toRecord(values: string[], columns: readonly string[]): FlowRecord {
  const record: FlowRecord = {};
  for (let i = 0; i < values.length; i++) record[columns[i]!] = values[i]!;
  return record;
}

/**
 * Reads a flow file as it arrives and yields one record per data line. Ends by checking the summary: it must be
 * there, and its `总条数` must equal the records read (a file cut short fails here even without a hash).
 *
 * @example
 * for await (const record of readFlowCsv(body)) console.log(record["优惠id"]);
 */
export async function* readFlowCsv<T = FlowRecord>(
  chunks: AsyncIterable<Uint8Array | string>,
  options: ReadFlowCsvOptions<T> = {},
): AsyncGenerator<T, void, undefined> {
  const progress = options.progress ?? newFlowCsvProgress();
  const map = options.map ?? (toRecord as (values: string[], columns: readonly string[]) => T);
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
  for await (const batch of lineBatches(chunks)) {
    for (const text of batch) {
      progress.line += 1;
      if (text.includes("\n")) progress.line += text.split("\n").length - 1;
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
      const values = split(line);
      for (let i = 0; i < values.length; i++) values[i] = clean(values[i]!);
      if (summaryTitles) {
        progress.summary = Object.fromEntries(summaryTitles.map((title, i) => [title, values[i] ?? ""]));
        continue;
      }
      if (values[0]!.startsWith(SUMMARY_MARK) && line.charCodeAt(0) !== 0x60) {
        summaryTitles = values;
        continue;
      }
      if (values.length !== progress.columns.length)
        fail(`${values.length} values where the header has ${progress.columns.length} columns`);
      progress.rows += 1;
      yield map(values, progress.columns);
    }
  }
  if (progress.columns.length === 0) fail("the file is empty: no header");
  if (!progress.summary) fail(`no ${TOTAL_COUNT_TITLE} summary at the end: the file is incomplete`);
  const total = progress.summary![TOTAL_COUNT_TITLE];
  if (total !== undefined && (!/^\d+$/.test(total) || Number(total) !== progress.rows))
    fail(`the summary's ${TOTAL_COUNT_TITLE} is ${total}, the file has ${progress.rows} records`);
  progress.done = true;
}
