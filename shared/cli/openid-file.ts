import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/** The openids the service accepts (shared/edges/http/schemas.ts OPENID). */
export const OPENID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export type OpenidLine =
  | { kind: "openid"; lineNo: number; openid: string }
  | { kind: "bad"; lineNo: number; text: string };

/**
 * The lines of an openid file, streamed (any size): one openid per line, trimmed; blank lines and a first line
 * `openid` (a header) are skipped; a value in double quotes is unquoted. Anything that is not an openid is yielded as
 * `bad` with its 1-based line number, never sent.
 */
export async function* readOpenidLines(path: string): AsyncGenerator<OpenidLine> {
  const lines = createInterface({
    input: createReadStream(path, { encoding: "utf8" }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let lineNo = 0;
  let seenContent = false;
  for await (const raw of lines) {
    lineNo++;
    let text = (lineNo === 1 ? raw.replace(/^\uFEFF/, "") : raw).trim();
    if (text === "") continue;
    if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1).trim();
    if (!seenContent) {
      seenContent = true;
      if (text.toLowerCase() === "openid") continue;
    }
    if (OPENID_PATTERN.test(text)) yield { kind: "openid", lineNo, openid: text };
    else yield { kind: "bad", lineNo, text: text.length > 60 ? `${text.slice(0, 57)}...` : text };
  }
}

export interface OpenidFileScan {
  /** Valid openid lines (each one is a send). */
  count: number;
  /** Bad lines: the first `MAX_BAD_LINES_KEPT`, and how many there were in all. */
  badLines: Array<{ lineNo: number; text: string }>;
  badCount: number;
  /** SHA-256 (hex) of the stock and the valid openids in file order: the fingerprint of the campaign. */
  fingerprint: string;
}

const MAX_BAD_LINES_KEPT = 20;

/** First pass over the file: counts, bad lines and the campaign fingerprint, in constant memory. */
export async function scanOpenidFile(path: string, stockId: string): Promise<OpenidFileScan> {
  const hash = createHash("sha256").update(`wxcoupon-campaign\n${stockId}\n`);
  const scan: OpenidFileScan = { count: 0, badLines: [], badCount: 0, fingerprint: "" };
  for await (const line of readOpenidLines(path)) {
    if (line.kind === "openid") {
      scan.count++;
      hash.update(`${line.openid}\n`);
    } else {
      scan.badCount++;
      if (scan.badLines.length < MAX_BAD_LINES_KEPT) scan.badLines.push({ lineNo: line.lineNo, text: line.text });
    }
  }
  scan.fingerprint = hash.digest("hex");
  return scan;
}

/** Consecutive chunks of `size` valid openids (the last one may be shorter), numbered from 0. */
export async function* openidChunks(
  path: string,
  size: number,
): AsyncGenerator<{ chunkNo: number; openids: string[] }> {
  let chunkNo = 0;
  let openids: string[] = [];
  for await (const line of readOpenidLines(path)) {
    if (line.kind !== "openid") continue;
    openids.push(line.openid);
    if (openids.length === size) {
      yield { chunkNo: chunkNo++, openids };
      openids = [];
    }
  }
  if (openids.length > 0) yield { chunkNo, openids };
}
