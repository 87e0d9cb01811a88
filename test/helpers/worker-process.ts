import { type ChildProcess, fork } from "node:child_process";
import type { Readable } from "node:stream";
import type { LocalStack } from "#local/stack/start-local-stack.js";

/**
 * Starts `local/stack/worker-process.ts` (the send worker and its mapping as their own process, configured by the
 * running stack: `stack.sendWorkerProcessEnv()`), resolving once it polls. Its output goes to `onOutput` when given, else nowhere. Kill it with
 * `child.kill("SIGKILL")`; stop the in-process worker first (`stack.stopWorker()`).
 */
export function spawnWorkerProcess(
  stack: Pick<LocalStack, "sendWorkerProcessEnv">,
  options: { onOutput?: (stream: Readable | null) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = fork("local/stack/worker-process.ts", {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, ...stack.sendWorkerProcessEnv(), ...options.env },
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
