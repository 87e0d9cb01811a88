import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";

export interface FauxqsBackend {
  server: FauxqsServer;
  client: SQSClient;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  /** Receives (and deletes) until `count` bodies arrived or `timeoutMs` passed. */
  receiveBodies(queueUrl: string, count: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startFauxqsBackend(): Promise<FauxqsBackend> {
  const server = await startFauxqs({ port: 0, logger: false });
  const client = createSqsClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return {
    server,
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
    },
  };
}
