import { type ChildProcess, fork } from "node:child_process";
import type { Readable } from "node:stream";

/**
 * Starts `local/stack/worker-process.ts` (the send worker as its own process, configured by the parent's env after
 * `startLocalStack`), resolving once it polls. Its output goes to `onOutput` when given, else nowhere. Kill it with
 * `child.kill("SIGKILL")`; stop the in-process worker first (`stack.stopWorker()`).
 */
export function spawnWorkerProcess(
  options: { onOutput?: (stream: Readable | null) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork("local/stack/worker-process.ts", {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, ...options.env },
      stdio: options.onOutput ? ["ignore", "pipe", "pipe", "ipc"] : "ignore",
    });
    options.onOutput?.(child.stdout);
    options.onOutput?.(child.stderr);
    child.once("message", () => resolve(child));
    child.once("error", reject);
    child.once("exit", (code, signal) => reject(new Error(`worker process exited early (${code ?? signal})`)));
  });
}

/** SIGKILLs a worker process and waits until it is gone. */
export async function killWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await gone;
}
