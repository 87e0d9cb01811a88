import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A folder that the processes of one test run share synthesized apps through (synthesize.ts): vitest.config.ts's
 * global setup makes it for the run and removes it after. Each test file runs in its own process and most start a
 * local stack; within one run the sources do not change, so an app synthesized for a context holds for every file.
 * Unset (npm start, benches): nothing is shared.
 */
export const SYNTH_CACHE_DIR_ENV = "WXCOUPON_SYNTH_CACHE_DIR";

const fileOf = (key: string) => {
  const dir = process.env[SYNTH_CACHE_DIR_ENV];
  return dir ? join(dir, `${createHash("sha256").update(key).digest("hex")}.json`) : undefined;
};

/** What this run already synthesized for `key`, if anything. */
export function readRunCache<T>(key: string): T | undefined {
  const file = fileOf(key);
  return file && existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined;
}

/** Shares `value` for `key` with the rest of the run (no-op outside a test run). */
export function writeRunCache(key: string, value: unknown): void {
  const file = fileOf(key);
  if (!file) return;
  // Whole or not at all: another process may be reading or writing the same key's file.
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(value));
  renameSync(partial, file);
}
