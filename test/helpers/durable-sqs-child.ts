/**
 * The durable local SQS alone in a process, so a test can SIGKILL it mid-write and start it again on the same folder
 * (`durable-sqs-process.ts` forks it). Configured by DURABLE_SQS_CHILD (JSON: dir and queue definitions); reports its
 * endpoint, queues and restored count to the parent over IPC.
 */
import { type QueueDefinition, startDurableSqs } from "#local/stack/durable-sqs.js";

const { dir, queues } = JSON.parse(process.env.DURABLE_SQS_CHILD ?? "{}") as {
  dir: string;
  queues: QueueDefinition[];
};
const sqs = await startDurableSqs({ region: "us-east-1", dir, queues });
process.send?.({ endpoint: sqs.endpoint, queues: sqs.queues, restoredMessages: sqs.restoredMessages });
process.once("disconnect", () => {
  void sqs.stop().then(() => process.exit(0));
});
