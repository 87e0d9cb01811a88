/**
 * The send worker as its own process (its event source mapping included): reliability tests kill it with SIGKILL at
 * random points and start it again, as Lambda may lose an execution environment mid-batch. Configured entirely by
 * the environment (the same variables as the Lambda, plus the queue endpoint the parent's stand-ins listen on).
 */
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { loadEnv, sendWorkerEnvSchema } from "#shared/config/env.js";
import { buildSendWorkerFunction } from "#shared/runtime/build-send-worker-function.js";
import { startSqsPoller } from "./sqs-poller.js";

const env = loadEnv(sendWorkerEnvSchema);
const poller = startSqsPoller({
  client: createSqsClient(),
  queueUrl: env.SEND_QUEUE_URL,
  handler: buildSendWorkerFunction(env),
  maxConcurrency: Number(process.env.WORKER_POLLER_CONCURRENCY ?? 4),
  functionName: "wxcoupon-send-worker",
});
process.send?.("ready");
const stop = () => {
  poller.stop().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
