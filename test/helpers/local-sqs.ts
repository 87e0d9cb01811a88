import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { startDurableSqs } from "#local/stack/durable-sqs.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";

export interface LocalSqsBackend {
  client: SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** Receives (and deletes) until `count` bodies arrived or `timeoutMs` passed. */
  receiveBodies(queueUrl: string, count: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** The SQS stand-in of the local stack (`local/stack/durable-sqs.ts`), kept in a temporary folder. */
export async function startLocalSqsBackend(): Promise<LocalSqsBackend> {
  const dir = mkdtempSync(join(tmpdir(), "wxcoupon-sqs-"));
  const server = await startDurableSqs({ region: "us-east-1", queues: [], dir });
  const client = createSqsClient({
    endpoint: server.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return {
    client,
    async createQueue(name, attributes = {}) {
      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      return QueueUrl!;
    },
    async receiveBodies(queueUrl, count, timeoutMs = 5_000) {
      const bodies: string[] = [];
      const deadline = Date.now() + timeoutMs;
      while (bodies.length < count && Date.now() < deadline) {
        const { Messages = [] } = await client.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        if (Messages.length === 0) continue;
        bodies.push(...Messages.map((m) => m.Body ?? ""));
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      return bodies;
    },
    async stop() {
      client.destroy();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
