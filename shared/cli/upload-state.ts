import { readFileSync, renameSync, writeFileSync } from "node:fs";

/**
 * What `campaign send` remembers between runs, in `<file>.wxcoupon-state.json`: which campaign the file became and
 * how many chunks the service acknowledged (chunks are posted in order, so 0..chunksAcked-1). Re-posting an
 * acknowledged chunk is harmless anyway (the service replays it), so the file only saves work; losing it loses
 * nothing but time.
 */
export interface UploadState {
  version: 1;
  campaignId: string;
  stockId: string;
  apiUrl: string;
  chunkSize: number;
  chunksTotal: number;
  chunksAcked: number;
  /** Every chunk acknowledged and the campaign sealed. */
  sealed: boolean;
  startedAt: string;
}

export const stateFileOf = (csvPath: string) => `${csvPath}.wxcoupon-state.json`;

/** The saved state, or undefined when there is none (or it is unreadable: then the upload starts over, safely). */
export function readUploadState(path: string): UploadState | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
  const s = parsed as Partial<UploadState>;
  const ok =
    s.version === 1 &&
    typeof s.campaignId === "string" &&
    typeof s.stockId === "string" &&
    typeof s.apiUrl === "string" &&
    Number.isInteger(s.chunkSize) &&
    Number.isInteger(s.chunksTotal) &&
    Number.isInteger(s.chunksAcked) &&
    typeof s.sealed === "boolean";
  return ok ? (s as UploadState) : undefined;
}

/** Atomic replace (write a temporary file, then rename): a kill mid-write leaves the old state or the new one. */
export function writeUploadState(path: string, state: UploadState): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, path);
}
