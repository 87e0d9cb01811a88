import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { type QueueDefinition, startDurableSqs } from "#local/stack/durable-sqs.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { startDurableSqsProcess } from "../../helpers/durable-sqs-process.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "wxcoupon-durable-sqs-"));
  dirs.push(dir);
  return dir;
};

const client = (endpoint: string) =>
  createSqsClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });

async function depth(sqs: SQSClient, queueUrl: string) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed),
  };
}

async function receive(sqs: SQSClient, queueUrl: string, max: number, visibilityTimeout?: number, wait = 0) {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: wait,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
      ...(visibilityTimeout === undefined ? {} : { VisibilityTimeout: visibilityTimeout }),
    }),
  );
  return Messages;
}

/** Receives (long polls of 1 s) until every id in `ids` has arrived; returns what arrived, any id. */
async function receiveUntil(sqs: SQSClient, queueUrl: string, ids: Set<string>, visibilityTimeout = 60) {
  const arrived: Message[] = [];
  const missing = new Set(ids);
  // Each poll waits at most 1 s; a message that never comes fails the test with what is missing.
  const deadline = Date.now() + 60_000;
  while (missing.size > 0) {
    if (Date.now() > deadline)
      throw new Error(`${missing.size} message(s) never came back: ${[...missing].slice(0, 5)}`);
    for (const m of await receive(sqs, queueUrl, 10, visibilityTimeout, 1)) {
      arrived.push(m);
      missing.delete(m.MessageId!);
    }
  }
  return arrived;
}

const attributesOf = (i: number): Record<string, MessageAttributeValue> => ({
  campaign_id: { DataType: "String", StringValue: `camp-${i}` },
  n: { DataType: "Number", StringValue: String(i) },
  raw: { DataType: "Binary", BinaryValue: Uint8Array.from([i, 255 - i, 7]) },
});

describe("the durable local SQS across a SIGKILL", () => {
  // Hidden long enough that the restart (a new tsx process) happens well inside it.
  const HIDDEN_SECONDS = 10;
  const queues: QueueDefinition[] = [
    { name: "dlq", visibilityTimeoutSeconds: 30, messageRetentionPeriodSeconds: 1_209_600 },
    { name: "work", visibilityTimeoutSeconds: 30, redrive: { deadLetterQueue: "dlq", maxReceiveCount: 2 } },
    { name: "strict", visibilityTimeoutSeconds: 30, redrive: { deadLetterQueue: "dlq", maxReceiveCount: 1 } },
  ];

  it("keeps every message not deleted, with id, body, attributes and receive count; in-flight ones come back after their visibility timeout; deleted ones never; the DLQ keeps its own", async () => {
    const dir = tempDir();
    const first = await startDurableSqsProcess(dir, queues);
    const work = first.queues.work!.url;
    const sent = await first.client.send(
      new SendMessageBatchCommand({
        QueueUrl: work,
        Entries: Array.from({ length: 10 }, (_, i) => ({
          Id: `e${i}`,
          MessageBody: `body-${i}`,
          MessageAttributes: attributesOf(i),
        })),
      }),
    );
    expect(sent.Successful).toHaveLength(10);
    const bodyOf = new Map(sent.Successful!.map((s) => [s.MessageId!, `body-${s.Id!.slice(1)}`]));
    const delayed = await first.client.send(
      new SendMessageCommand({ QueueUrl: work, MessageBody: "delayed", DelaySeconds: HIDDEN_SECONDS }),
    );

    const taken = await receive(first.client, work, 4, HIDDEN_SECONDS);
    expect(taken.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(["1", "1", "1", "1"]);
    const [deletedOne, deletedTwo, keptInFlight, deletedAfterRestart] = taken as [Message, Message, Message, Message];
    await first.client.send(new DeleteMessageCommand({ QueueUrl: work, ReceiptHandle: deletedOne.ReceiptHandle }));
    await first.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: work,
        Entries: [{ Id: "d", ReceiptHandle: deletedTwo.ReceiptHandle }],
      }),
    );

    // A message redriven to the DLQ before the crash: its second receive on a maxReceiveCount-1 queue moves it.
    const strict = first.queues.strict!.url;
    const poison = await first.client.send(new SendMessageCommand({ QueueUrl: strict, MessageBody: "poison" }));
    expect(await receive(first.client, strict, 1, 0)).toHaveLength(1);
    expect(await receive(first.client, strict, 1, 0)).toEqual([]);
    const dlq = first.queues.dlq!.url;
    expect(await depth(first.client, dlq)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    const { Attributes: before } = await first.client.send(
      new GetQueueAttributesCommand({ QueueUrl: work, AttributeNames: ["CreatedTimestamp"] }),
    );
    await first.kill();

    const second = await startDurableSqsProcess(dir, queues);
    try {
      const sqs = second.client;
      const work2 = second.queues.work!.url;
      // 6 never received + 2 in flight + 1 delayed on `work`, the poison message on the DLQ.
      expect(second.restoredMessages).toBe(10);
      expect(await depth(sqs, work2)).toEqual({ visible: 6, inFlight: 2, delayed: 1 });
      const { Attributes: after } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: work2, AttributeNames: ["CreatedTimestamp"] }),
      );
      expect(after?.CreatedTimestamp).toBe(before?.CreatedTimestamp);

      // A receipt handle from before the crash still deletes its message while that is in flight, as in SQS.
      await sqs.send(new DeleteMessageCommand({ QueueUrl: work2, ReceiptHandle: deletedAfterRestart.ReceiptHandle }));

      const neverReceived = new Set([...bodyOf.keys()].filter((id) => !taken.some((t) => t.MessageId === id)));
      const visible = await receive(sqs, work2, 10, 60);
      expect(new Set(visible.map((m) => m.MessageId))).toEqual(neverReceived);
      for (const m of visible) {
        expect(m.Body).toBe(bodyOf.get(m.MessageId!));
        const i = Number(m.Body!.slice("body-".length));
        expect(m.MessageAttributes).toEqual(attributesOf(i));
        expect(m.Attributes?.ApproximateReceiveCount).toBe("1");
      }

      // The one still in flight returns after its visibility timeout, with its receive count and timestamps; the
      // delayed one after its delay.
      const later = await receiveUntil(sqs, work2, new Set([keptInFlight.MessageId!, delayed.MessageId!]));
      expect(later.map((m) => m.MessageId).sort()).toEqual([keptInFlight.MessageId, delayed.MessageId].sort());
      const returned = later.find((m) => m.MessageId === keptInFlight.MessageId)!;
      expect(returned.Body).toBe(keptInFlight.Body);
      expect(returned.Attributes).toMatchObject({
        ApproximateReceiveCount: "2",
        SentTimestamp: keptInFlight.Attributes!.SentTimestamp,
        ApproximateFirstReceiveTimestamp: keptInFlight.Attributes!.ApproximateFirstReceiveTimestamp,
      });
      expect(later.find((m) => m.MessageId === delayed.MessageId)!.Attributes?.ApproximateReceiveCount).toBe("1");

      // Its kept receive count still drives the redrive: a third receive on a maxReceiveCount-2 queue moves it.
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: work2,
          ReceiptHandle: returned.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      expect(await receive(sqs, work2, 10, 60)).toEqual([]);
      const dead = await receive(sqs, second.queues.dlq!.url, 10, 60);
      expect(dead.map((m) => m.MessageId).sort()).toEqual([poison.MessageId, keptInFlight.MessageId].sort());
      expect(dead.find((m) => m.MessageId === poison.MessageId)?.Body).toBe("poison");

      // Deleted ones never came back: what is left is the 7 this client holds in flight.
      expect(await depth(sqs, work2)).toEqual({ visible: 0, inFlight: 7, delayed: 0 });
    } finally {
      await second.kill();
    }
  }, 60_000);

  it("loses no acknowledged send or delete when killed in the middle of a stream of them, and opens again", async () => {
    const dir = tempDir();
    const definitions: QueueDefinition[] = [{ name: "stream", visibilityTimeoutSeconds: 30 }];
    const first = await startDurableSqsProcess(dir, definitions);
    const url = first.queues.stream!.url;
    const acknowledgedSends = new Set<string>();
    const acknowledgedDeletes = new Set<string>();
    // A delete in flight when the process dies may have been applied without its answer arriving: such a message may
    // or may not come back, so it is not one that must.
    const attemptedDeletes = new Set<string>();
    let running = true;
    const sender = async (n: number) => {
      for (let batch = 0; running; batch++) {
        const result = await first.client.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `s${n}-${batch}-${i}` })),
          }),
        );
        for (const s of result.Successful ?? []) acknowledgedSends.add(s.MessageId!);
      }
    };
    const deleter = async () => {
      while (running) {
        // Visibility 1 s: what was received and not deleted is visible again soon after the restart.
        const messages = await receive(first.client, url, 10, 1);
        if (messages.length === 0) continue;
        for (const m of messages) attemptedDeletes.add(m.MessageId!);
        const result = await first.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        for (const s of result.Successful ?? []) acknowledgedDeletes.add(messages[Number(s.Id)]!.MessageId!);
      }
    };
    // Once the connection drops each loop ends with an error: that is the point.
    const loops = [sender(0), sender(1), sender(2), deleter(), deleter()].map((p) => p.catch(() => undefined));
    // Enough of a stream that the kill lands mid-write; small enough for a loaded 2-core CI machine.
    await expect.poll(() => acknowledgedSends.size, { timeout: 40_000, interval: 20 }).toBeGreaterThan(500);
    expect(acknowledgedDeletes.size).toBeGreaterThan(0);
    await first.kill();
    running = false;
    await Promise.all(loops);

    const second = await startDurableSqsProcess(dir, definitions);
    try {
      const kept = new Set([...acknowledgedSends].filter((id) => !attemptedDeletes.has(id)));
      expect(second.restoredMessages).toBeGreaterThanOrEqual(kept.size);
      const arrived = await receiveUntil(second.client, second.queues.stream!.url, kept);
      expect(arrived.filter((m) => acknowledgedDeletes.has(m.MessageId!))).toEqual([]);
    } finally {
      await second.kill();
    }
  }, 150_000);
});

describe("the durable local SQS in process", () => {
  it("removes messages past their queue's MessageRetentionPeriod at start and while running; the DLQ's own retention keeps its messages", async () => {
    const dir = tempDir();
    const queues: QueueDefinition[] = [
      { name: "dlq", visibilityTimeoutSeconds: 30, messageRetentionPeriodSeconds: 1_209_600 },
      {
        name: "short",
        visibilityTimeoutSeconds: 30,
        messageRetentionPeriodSeconds: 60,
        redrive: { deadLetterQueue: "dlq", maxReceiveCount: 1 },
      },
    ];
    const first = await startDurableSqs({ region: "us-east-1", dir, queues });
    const sqs = client(first.endpoint);
    const short = first.queues.short!.url;
    const moved = await sqs.send(new SendMessageCommand({ QueueUrl: short, MessageBody: "moved" }));
    // Received twice (visibility 0) on a maxReceiveCount-1 queue: the second receive moves it to the DLQ.
    expect(await receive(sqs, short, 10, 0)).toHaveLength(1);
    expect(await receive(sqs, short, 10, 0)).toEqual([]);
    expect(await depth(sqs, first.queues.dlq!.url)).toMatchObject({ visible: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: short, MessageBody: "expires" }));
    sqs.destroy();
    await first.stop();

    // Two minutes later by the retention clock: past the short queue's 60 s, well inside the DLQ's 14 days (counted
    // from the first send, as SQS does after a move to a DLQ).
    let offsetMs = 120_000;
    const second = await startDurableSqs({ region: "us-east-1", dir, queues, clock: () => Date.now() + offsetMs });
    const sqs2 = client(second.endpoint);
    try {
      expect(second.restoredMessages).toBe(1);
      expect(await depth(sqs2, second.queues.short!.url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      const dead = await receive(sqs2, second.queues.dlq!.url, 10, 60);
      expect(dead.map((m) => m.MessageId)).toEqual([moved.MessageId]);

      // While running: a message sent now expires once the clock is past its retention.
      offsetMs = 0;
      await sqs2.send(new SendMessageCommand({ QueueUrl: second.queues.short!.url, MessageBody: "fresh" }));
      expect(await depth(sqs2, second.queues.short!.url)).toMatchObject({ visible: 1 });
      offsetMs = 61_000;
      await expect
        .poll(async () => (await depth(sqs2, second.queues.short!.url)).visible, { timeout: 5_000, interval: 100 })
        .toBe(0);
    } finally {
      sqs2.destroy();
      await second.stop();
    }
  }, 30_000);

  it("applies changed definitions to the kept queues, serves them on the new port, and refuses FIFO queues", async () => {
    const dir = tempDir();
    const first = await startDurableSqs({
      region: "us-east-1",
      dir,
      queues: [{ name: "jobs", visibilityTimeoutSeconds: 60 }],
    });
    await first.stop();
    const second = await startDurableSqs({
      region: "us-east-1",
      dir,
      queues: [{ name: "jobs", visibilityTimeoutSeconds: 5, delaySeconds: 2 }],
    });
    const sqs = client(second.endpoint);
    try {
      expect(second.queues.jobs!.url).toContain(`:${new URL(second.endpoint).port}/`);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: second.queues.jobs!.url, AttributeNames: ["All"] }),
      );
      expect(Attributes).toMatchObject({ VisibilityTimeout: "5", DelaySeconds: "2", MessageRetentionPeriod: "345600" });
      await expect(sqs.send(new CreateQueueCommand({ QueueName: "jobs.fifo" }))).rejects.toThrow();
    } finally {
      sqs.destroy();
      await second.stop();
    }
  });

  it("keeps nothing without a folder", async () => {
    const queues: QueueDefinition[] = [{ name: "jobs", visibilityTimeoutSeconds: 30 }];
    const first = await startDurableSqs({ region: "us-east-1", queues });
    const sqs = client(first.endpoint);
    await sqs.send(new SendMessageCommand({ QueueUrl: first.queues.jobs!.url, MessageBody: "gone" }));
    sqs.destroy();
    await first.stop();
    const second = await startDurableSqs({ region: "us-east-1", queues });
    try {
      expect(second.restoredMessages).toBe(0);
    } finally {
      await second.stop();
    }
  });
});
