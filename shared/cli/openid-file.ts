import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { CliUsageError } from "./cli-io.js";

/** The openids the service accepts (shared/edges/http/schemas.ts OPENID). */
export const OPENID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** The header `campaign send` writes to its failures file (see campaign-command.ts writeFailures). */
export const FAILURES_HEADER = ["openid", "out_request_no", "code"] as const;

export type OpenidLine =
  | {
      kind: "openid";
      lineNo: number;
      openid: string;
      /** The failed send's out_request_no, when the file is a failures file of this CLI. */
      failedAs?: string;
    }
  | { kind: "bad"; lineNo: number; text: string };

export interface OpenidFileOptions {
  /** The header's column holding the openids (multi-column CSV); default: the column named "openid". */
  column?: string | undefined;
}

/**
 * One CSV record on one line (RFC 4180 quoting: `"a,b"`, `""` for a quote); fields trimmed. Undefined when a quote is
 * left open (a field spanning lines, which openid files never need): the caller reports the line as bad.
 */
export function parseCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === " " || line[i] === "\t") i++;
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      while (i < line.length && line[i] !== ",") {
        // Only blanks may follow a closing quote.
        if (line[i] !== " " && line[i] !== "\t") return undefined;
        i++;
      }
    } else {
      const end = line.indexOf(",", i);
      field = (end === -1 ? line.slice(i) : line.slice(i, end)).trim();
      i = end === -1 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

const shown = (text: string) => (text.length > 60 ? `${text.slice(0, 57)}...` : text);

function columnIndex(header: string[], name: string): number {
  const exact = header.indexOf(name);
  if (exact !== -1) return exact;
  // "OpenID", "OPENID": spreadsheets capitalise headers; a unique case-insensitive match is what was meant.
  const folded = header.flatMap((h, i) => (h.toLowerCase() === name.toLowerCase() ? [i] : []));
  return folded.length === 1 ? folded[0]! : -1;
}

const listColumns = (header: string[]) => header.map((h) => JSON.stringify(h)).join(", ");

/**
 * The lines of an openid file, streamed (any size), trimmed, blank lines skipped. Two shapes:
 * - one column: one openid per line (quotes removed), an optional first line `openid` (a header);
 * - a CSV with a header row: the openids are the column named by `options.column`, or else the one named "openid"
 *   (so this CLI's own failures file, `openid,out_request_no,code`, is read as is). Several columns and none named
 *   so, or a `--column` the header lacks, is a usage error listing the header's columns.
 * Anything that is not an openid is yielded as `bad` with its 1-based line number, never sent.
 */
export async function* readOpenidLines(path: string, options: OpenidFileOptions = {}): AsyncGenerator<OpenidLine> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: "utf8" }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let lineNo = 0;
  let seenContent = false;
  /** The openid column of a CSV with a header; undefined for a one-column file. */
  let column: number | undefined;
  let failuresFile = false;
  for await (const raw of lines) {
    lineNo++;
    let text = (lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw).trim();
    if (text === "") continue;
    if (!seenContent) {
      seenContent = true;
      const header = parseCsvLine(text) ?? [text];
      if (options.column !== undefined || header.length > 1) {
        const wanted = options.column ?? "openid";
        column = columnIndex(header, wanted);
        if (column === -1) {
          throw new CliUsageError(
            options.column !== undefined
              ? `--column ${JSON.stringify(options.column)}: ${path} has no such column; its header (line ${lineNo}) ` +
                  `has ${listColumns(header)}`
              : `${path} has ${header.length} columns (${listColumns(header)}) and none is named "openid": ` +
                  "pass --column NAME (the first line is read as the header)",
          );
        }
        failuresFile = header.length === FAILURES_HEADER.length && FAILURES_HEADER.every((h, i) => header[i] === h);
        continue;
      }
      if (header[0]!.toLowerCase() === "openid") continue;
    }
    if (column === undefined) {
      if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1).trim();
      if (OPENID_PATTERN.test(text)) yield { kind: "openid", lineNo, openid: text };
      else yield { kind: "bad", lineNo, text: shown(text) };
      continue;
    }
    const fields = parseCsvLine(text);
    const value = fields?.[column];
    if (value === undefined || !OPENID_PATTERN.test(value)) {
      yield { kind: "bad", lineNo, text: shown(text) };
      continue;
    }
    const failedAs = failuresFile ? fields?.[1] : undefined;
    yield { kind: "openid", lineNo, openid: value, ...(failedAs ? { failedAs } : {}) };
  }
}

export interface OpenidFileScan {
  /** Valid openid lines (each one is a send). */
  count: number;
  /** Bad lines: the first `MAX_BAD_LINES_KEPT`, and how many there were in all. */
  badLines: Array<{ lineNo: number; text: string }>;
  badCount: number;
  /** The file is a failures file of this CLI: sending it again is a retry of those sends. */
  retry: boolean;
  /**
   * SHA-256 (hex) of the stock and the valid openids in file order: the fingerprint of the campaign. For a failures
   * file it also covers the failed sends' out_request_nos, so a retry is a new campaign even when every recipient of
   * the original failed (same openids, same order: the plain fingerprint would resume the finished campaign and send
   * nothing), while running the same retry again resumes it.
   */
  fingerprint: string;
}

const MAX_BAD_LINES_KEPT = 20;

/** First pass over the file: counts, bad lines and the campaign fingerprint, in constant memory. */
export async function scanOpenidFile(
  path: string,
  stockId: string,
  options: OpenidFileOptions = {},
): Promise<OpenidFileScan> {
  const plain = createHash("sha256").update(`wxcoupon-campaign\n${stockId}\n`);
  const retry = createHash("sha256").update(`wxcoupon-campaign-retry\n${stockId}\n`);
  const scan: OpenidFileScan = { count: 0, badLines: [], badCount: 0, retry: false, fingerprint: "" };
  for await (const line of readOpenidLines(path, options)) {
    if (line.kind === "openid") {
      scan.count++;
      plain.update(`${line.openid}\n`);
      if (line.failedAs) scan.retry = true;
      retry.update(`${line.openid}\t${line.failedAs ?? ""}\n`);
    } else {
      scan.badCount++;
      if (scan.badLines.length < MAX_BAD_LINES_KEPT) scan.badLines.push({ lineNo: line.lineNo, text: line.text });
    }
  }
  scan.fingerprint = (scan.retry ? retry : plain).digest("hex");
  return scan;
}

/** Consecutive chunks of `size` valid openids (the last one may be shorter), numbered from 0. */
export async function* openidChunks(
  path: string,
  size: number,
  options: OpenidFileOptions = {},
): AsyncGenerator<{ chunkNo: number; openids: string[] }> {
  let chunkNo = 0;
  let openids: string[] = [];
  for await (const line of readOpenidLines(path, options)) {
    if (line.kind !== "openid") continue;
    openids.push(line.openid);
    if (openids.length === size) {
      yield { chunkNo: chunkNo++, openids };
      openids = [];
    }
  }
  if (openids.length > 0) yield { chunkNo, openids };
}
