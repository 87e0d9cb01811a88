import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { type FunctionHost, type FunctionHostOptions, startFunctionHost } from "./function-host/function-host.js";
import { invokeForSqs } from "./function-host/invoke-adapters.js";
import { type SqsPoller, startSqsPoller } from "./sqs-poller.js";

/**
 * An SQS-triggered function with its event source mapping, as the template declares them; plain data, so the same
 * mapping can run in the stack's process or in a child process (local/stack/worker-process.ts).
 */
export interface SqsMappingConfig {
  host: Omit<FunctionHostOptions, "log">;
  queueUrl: string;
  region: string;
  /** The SQS endpoint the mapping polls through (the IAM proxy: the mapping acts with the function's role). */
  sqsEndpoint: string;
  /** The function's access key: Lambda's event source mapping polls with the function's execution role. */
  accessKeyId: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  /** Batches in flight at once: the mapping's `ScalingConfig.MaximumConcurrency` (or a test's override). */
  maxConcurrency: number;
  reportBatchItemFailures: boolean;
}

export interface RunningSqsMapping {
  host: FunctionHost;
  poller: SqsPoller;
  /** Stops polling, waits for the batches in flight, then ends the execution environments. */
  stop(): Promise<void>;
}

/**
 * Starts the function's host and the poller that plays Lambda's event source mapping for it. The host gets as many
 * environments as batches can be in flight, so the mapping's concurrency, not the local cap, bounds it.
 */
export function startSqsMapping(config: SqsMappingConfig, log?: (line: string) => void): RunningSqsMapping {
  const host = startFunctionHost({ ...config.host, maxEnvironments: config.maxConcurrency, ...(log ? { log } : {}) });
  const client = createSqsClient({
    endpoint: config.sqsEndpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: "local" },
  });
  const poller = startSqsPoller({
    client,
    queueUrl: config.queueUrl,
    handler: invokeForSqs(host),
    batchSize: config.batchSize,
    maximumBatchingWindowSeconds: config.maximumBatchingWindowSeconds,
    reportBatchItemFailures: config.reportBatchItemFailures,
    maxConcurrency: config.maxConcurrency,
    functionName: config.host.functionName,
    timeoutMs: config.host.timeoutSeconds * 1000,
    region: config.region,
    ...(log ? { log } : {}),
  });
  return {
    host,
    poller,
    async stop() {
      await poller.stop();
      await host.stop();
      client.destroy();
    },
  };
}
