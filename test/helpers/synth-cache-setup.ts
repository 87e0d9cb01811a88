import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SYNTH_CACHE_DIR_ENV } from "#local/stack/template/run-cache.js";

/**
 * vitest global setup: one folder per run through which the test files' processes (and the stacks they spawn) share
 * each synthesized app instead of synthesizing it again (local/stack/template/run-cache.ts). Gone after the run, so
 * no run reads another's templates.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "wxcoupon-synth-"));
  process.env[SYNTH_CACHE_DIR_ENV] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
