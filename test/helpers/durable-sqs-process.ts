import { type ChildProcess, fork } from "node:child_process";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { QueueDefinition, QueueInfo } from "#local/stack/durable-sqs.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";

export interface DurableSqsProcess {
  child: ChildProcess;
  endpoint: string;
  queues: Record<string, QueueInfo>;
  restoredMessages: number;
  /** An SDK client for this process's endpoint (destroyed by `kill`). */
  client: SQSClient;
  /** SIGKILL: no flush, no close; resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Forks `durable-sqs-child.ts` on `dir` with `queues`; resolves once it answers. */
export function startDurableSqsProcess(dir: string, queues: QueueDefinition[]): Promise<DurableSqsProcess> {
  return new Promise((resolve, reject) => {
    const child = fork("test/helpers/durable-sqs-child.ts", {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, DURABLE_SQS_CHILD: JSON.stringify({ dir, queues }) },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    const early = (code: number | null, signal: string | null) =>
      reject(new Error(`durable SQS process exited early (${code ?? signal})`));
    child.once("exit", early);
    child.once("error", reject);
    child.once("message", (message) => {
      child.off("exit", early);
      const ready = message as { endpoint: string; queues: Record<string, QueueInfo>; restoredMessages: number };
      const client = createSqsClient({
        endpoint: ready.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
      });
      resolve({
        child,
        ...ready,
        client,
        async kill() {
          client.destroy();
          if (child.exitCode !== null || child.signalCode !== null) return;
          const gone = new Promise<void>((done) => child.once("exit", () => done()));
          child.kill("SIGKILL");
          await gone;
        },
      });
    });
  });
}
