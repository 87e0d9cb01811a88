import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DurableSqs, startDurableSqs } from "#local/stack/durable-sqs.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";

// SQS fair queues on the local stand-in, over the SQS JSON protocol with the AWS SDK: a standard queue whose
// messages carry a MessageGroupId (docs/local-stack.md#fair-queues).

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "wxcoupon-fair-sqs-"));
  dirs.push(dir);
  return dir;
};
const clientOf = (endpoint: string) =>
  createSqsClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });

let sqs: DurableSqs;
let client: SQSClient;
let queueNo = 0;
beforeAll(async () => {
  sqs = await startDurableSqs({ region: "us-east-1", queues: [], dir: tempDir() });
  client = clientOf(sqs.endpoint);
});
afterAll(async () => {
  client?.destroy();
  await sqs?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function newQueue(attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({ QueueName: `fair-${++queueNo}`, Attributes: { VisibilityTimeout: "60", ...attributes } }),
  );
  return QueueUrl!;
}

/** Sends `count` messages of one tenant (no group when `tenant` is undefined), bodies `${label}-${i}`. */
async function send(sqsClient: SQSClient, queueUrl: string, tenant: string | undefined, count: number, label = tenant) {
  for (let start = 0; start < count; start += 10) {
    const result = await sqsClient.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: Math.min(10, count - start) }, (_, i) => ({
          Id: `m${start + i}`,
          MessageBody: `${label}-${start + i}`,
          ...(tenant === undefined ? {} : { MessageGroupId: tenant }),
        })),
      }),
    );
    expect(result.Failed ?? []).toEqual([]);
  }
}

async function receive(sqsClient: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const { Messages = [] } = await sqsClient.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ["All"],
    }),
  );
  return Messages;
}

/** Takes `count` messages in flight (receives of up to 10, held for the queue's 60 s visibility timeout). */
async function holdInFlight(queueUrl: string, count: number): Promise<Message[]> {
  const held: Message[] = [];
  while (held.length < count) {
    const got = await receive(client, queueUrl, Math.min(10, count - held.length));
    if (got.length === 0) throw new Error(`only ${held.length} of ${count} messages could be taken in flight`);
    held.push(...got);
  }
  return held;
}

const tenantsOf = (messages: Message[]) => messages.map((m) => m.Attributes?.MessageGroupId ?? `(none) ${m.Body}`);

describe("fair queues on the local SQS stand-in", () => {
  it("keeps a standard queue's MessageGroupId on the message and returns it as a system attribute", async () => {
    const queueUrl = await newQueue();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "one", MessageGroupId: "camp-a" }));
    await send(client, queueUrl, "camp-b", 2);
    await send(client, queueUrl, undefined, 1, "loose");
    const got = await receive(client, queueUrl, 10);
    expect(got.map((m) => [m.Body, m.Attributes?.MessageGroupId])).toEqual([
      ["one", "camp-a"],
      ["camp-b-0", "camp-b"],
      ["camp-b-1", "camp-b"],
      ["loose-0", undefined],
    ]);
  });

  it("gives each accepted entry of a batch its own group, past an entry the queue refuses and between equal bodies", async () => {
    const queueUrl = await newQueue();
    const result = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "refused", MessageBody: "bad \u0001 body", MessageGroupId: "g-refused" },
          { Id: "same1", MessageBody: "same", MessageGroupId: "g-1" },
          { Id: "same2", MessageBody: "same", MessageGroupId: "g-2" },
          {
            Id: "attr",
            MessageBody: "same",
            MessageGroupId: "g-3",
            MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
          },
          { Id: "none", MessageBody: "same" },
        ],
      }),
    );
    expect(result.Failed?.map((f) => f.Id)).toEqual(["refused"]);
    const groupOf = new Map(result.Successful!.map((s) => [s.MessageId!, s.Id!]));
    const got = await receive(client, queueUrl, 10);
    expect(Object.fromEntries(got.map((m) => [groupOf.get(m.MessageId!), m.Attributes?.MessageGroupId]))).toEqual({
      same1: "g-1",
      same2: "g-2",
      attr: "g-3",
      none: undefined,
    });
  });

  it("delivers a quiet tenant's messages ahead of a noisy tenant's backlog (≥ 30 in flight, > 10 % of them)", async () => {
    const queueUrl = await newQueue();
    await send(client, queueUrl, "big", 100);
    await holdInFlight(queueUrl, 30); // all 30 in flight are big's: noisy
    await send(client, queueUrl, "small", 3);
    await send(client, queueUrl, undefined, 1, "loose"); // no group: a tenant of its own, quiet
    const got = await receive(client, queueUrl, 10);
    // The quiet ones first, oldest first, then the backlog fills the receive: SQS does not throttle a noisy tenant.
    expect(tenantsOf(got)).toEqual(["small", "small", "small", "(none) loose-0", ...Array(6).fill("big")]);
    expect(got.slice(4).map((m) => m.Body)).toEqual(["big-30", "big-31", "big-32", "big-33", "big-34", "big-35"]);
  });

  it("keeps oldest-first order while no tenant is noisy: fewer than 30 in flight is not enough", async () => {
    const queueUrl = await newQueue();
    await send(client, queueUrl, "big", 60);
    await holdInFlight(queueUrl, 29);
    await send(client, queueUrl, "small", 3);
    const got = await receive(client, queueUrl, 10);
    expect(tenantsOf(got)).toEqual(Array(10).fill("big"));
  });

  it("keeps oldest-first order while the busiest tenant has 10 % or less of the messages in flight", async () => {
    const queueUrl = await newQueue();
    // 300 in flight over 10 tenants of 30: each exactly 10 %, so none is noisy.
    for (let t = 0; t < 10; t++) await send(client, queueUrl, `t${t}`, 30);
    await holdInFlight(queueUrl, 300);
    await send(client, queueUrl, "t0", 5, "t0-more");
    await send(client, queueUrl, "small", 1);
    const got = await receive(client, queueUrl, 10);
    expect(tenantsOf(got)).toEqual([...Array(5).fill("t0"), "small"]);
  });

  it("serves noisy tenants, when no quiet message waits, the one with the fewest in flight first", async () => {
    const queueUrl = await newQueue();
    await send(client, queueUrl, "a", 50, "a-held");
    await holdInFlight(queueUrl, 50);
    await send(client, queueUrl, "b", 35, "b-held");
    await holdInFlight(queueUrl, 35);
    // Both noisy (50 and 35 of 85 in flight); a's waiting messages are older than b's.
    await send(client, queueUrl, "a", 20, "a-waiting");
    await send(client, queueUrl, "b", 20, "b-waiting");
    const first = await receive(client, queueUrl, 10);
    // b: 35 → 45 in flight, still fewer than a's 50.
    expect(tenantsOf(first)).toEqual(Array(10).fill("b"));
    const second = await receive(client, queueUrl, 10);
    // b now has 45 in flight, a 50: b's next 5 bring it level, then they alternate (a first on equal counts).
    expect(tenantsOf(second)).toEqual(["b", "b", "b", "b", "b", "a", "b", "a", "b", "a"]);
  });

  it("keeps the group across a redrive to the DLQ and across a restart of the stand-in", async () => {
    const dir = tempDir();
    const queues = [
      { name: "dlq", visibilityTimeoutSeconds: 30 },
      { name: "work", visibilityTimeoutSeconds: 30, redrive: { deadLetterQueue: "dlq", maxReceiveCount: 1 } },
    ];
    const first = await startDurableSqs({ region: "us-east-1", queues, dir });
    const firstClient = clientOf(first.endpoint);
    try {
      const work = first.queues.work!.url;
      await send(firstClient, work, "camp-kept", 2);
      const [toDlq] = await receive(firstClient, work, 1);
      await firstClient.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: work,
          ReceiptHandle: toDlq!.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      // Its second receive on a maxReceiveCount-1 queue moves it to the DLQ; the other one is received.
      expect((await receive(firstClient, work, 10)).map((m) => m.Body)).toEqual(["camp-kept-1"]);
    } finally {
      firstClient.destroy();
      await first.stop();
    }
    const second = await startDurableSqs({ region: "us-east-1", queues, dir });
    const secondClient = clientOf(second.endpoint);
    try {
      const dead = await receive(secondClient, second.queues.dlq!.url, 10);
      expect(dead.map((m) => [m.Body, m.Attributes?.MessageGroupId])).toEqual([["camp-kept-0", "camp-kept"]]);
    } finally {
      secondClient.destroy();
      await second.stop();
    }
  });

  it("refuses a MessageGroupId SQS refuses: longer than 128 characters, or with a space", async () => {
    const queueUrl = await newQueue();
    // The code as fauxqs reports its own InvalidParameterValue (query-compatible header: AWS.SimpleQueueService.…).
    const refused = { name: expect.stringMatching(/InvalidParameterValue$/) };
    for (const groupId of ["x".repeat(129), "camp a"]) {
      await expect(
        client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "m", MessageGroupId: groupId })),
      ).rejects.toMatchObject(refused);
    }
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: "ok", MessageBody: "m", MessageGroupId: "x".repeat(128) },
            { Id: "bad", MessageBody: "m", MessageGroupId: "" },
          ],
        }),
      ),
    ).rejects.toMatchObject(refused);
    expect(await receive(client, queueUrl, 10)).toEqual([]);
  });
});
