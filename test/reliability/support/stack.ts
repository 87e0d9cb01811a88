import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { LocalStack, LocalStackOptions } from "#local/stack/start-local-stack.js";
import { startTestStack } from "../../helpers/local-stack-client.js";
import { findLeaks, LogCapture } from "./log-capture.js";
import { record } from "./tally.js";

export interface ReliabilityStack {
  /** The running stack (set in beforeAll). */
  readonly stack: LocalStack;
  readonly capture: LogCapture;
}

/**
 * One local stack per reliability file, with every line it prints captured from before it starts; registers the
 * closing "no secret in any log line" test of the file. Options extend `startTestStack`'s.
 */
export function useReliabilityStack(
  options: Partial<LocalStackOptions> | (() => Promise<Partial<LocalStackOptions>>) = {},
  cleanup?: () => Promise<void>,
): ReliabilityStack {
  const capture = new LogCapture();
  const dataDir = mkdtempSync(join(tmpdir(), "wxcoupon-reliability-"));
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    capture.start();
    const resolved = typeof options === "function" ? await options() : options;
    stack = await startTestStack({ log: capture.sink, ...resolved, dataDir });
  }, 60_000);
  afterAll(async () => {
    try {
      await stack?.stop();
      await cleanup?.();
    } finally {
      capture.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  return {
    get stack() {
      if (!stack) throw new Error("the reliability stack has not started");
      return stack;
    },
    capture,
  };
}

/** The file's last test: no captured line (stdout, stderr, stack log, child processes) carries key material. */
export function itLeaksNoSecret(env: ReliabilityStack): void {
  it("printed no key material, APIv3 key or token in any log line", (context) => {
    const leaks = findLeaks(env.capture, env.stack);
    record(context, {
      group: "Secrets in logs",
      cases: env.capture.lineCount(),
      notes: [`${env.capture.lineCount()} lines (${(env.capture.bytes / 1024).toFixed(0)} KiB) scanned`],
    });
    expect(leaks).toEqual([]);
  });
}
