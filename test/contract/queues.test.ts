import { randomUUID } from "node:crypto";
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { parseSendMessage } from "#shared/adapters/sqs/message-codec.js";
import { SqsDeadLetterSink } from "#shared/adapters/sqs/sqs-dead-letter-sink.js";
import { SqsSendQueue } from "#shared/adapters/sqs/sqs-send-queue.js";
import type { SendMessage } from "#shared/domain/ports.js";
import { type LocalSqsBackend, startLocalSqsBackend } from "../helpers/local-sqs.js";
import { queueDepth } from "../helpers/queue-depth.js";
import { sendQueueContract } from "./suites/queue-contract.js";

let sqs: LocalSqsBackend;
beforeAll(async () => {
  sqs = await startLocalSqsBackend();
});
afterAll(async () => {
  await sqs?.stop();
});

sendQueueContract("memory", async () => {
  const queue = new MemorySendQueue();
  return { queue, received: async () => queue.drain() };
});

sendQueueContract("SQS on the local stand-in", async () => {
  const queueUrl = await sqs.createQueue(`send-${randomUUID().slice(0, 8)}`);
  const queue = new SqsSendQueue({ client: sqs.client, queueUrl });
  return {
    queue,
    received: async (count) => (count === 0 ? [] : (await sqs.receiveBodies(queueUrl, count)).map(parseSendMessage)),
  };
});

describe("SqsSendQueue.requeue on the local stand-in", () => {
  it("puts back a fresh copy, recycled count intact, that stays delayed for its delay and counts as queued", async () => {
    const queueUrl = await sqs.createQueue(`requeue-${randomUUID().slice(0, 8)}`);
    const queue = new SqsSendQueue({ client: sqs.client, queueUrl });
    const message: SendMessage = {
      mchid: "1900000109",
      outRequestNo: "camp-1-0",
      stockId: "9856000",
      openid: "o-1",
      appid: "wx233544546545989",
      campaignId: "camp-1",
      recycled: 3,
    };
    await queue.requeue(message, 2);
    expect(await queueDepth(sqs.client, queueUrl)).toBe(1); // delayed, not visible: still queued
    expect(await sqs.receiveBodies(queueUrl, 1, 1_000)).toEqual([]);
    const [body] = await sqs.receiveBodies(queueUrl, 1, 5_000);
    expect(parseSendMessage(body!)).toEqual(message);
  });
});

describe("MessageGroupId on the send queue (SQS fair queues: the tenant is the campaign)", () => {
  const send = (i: number, extra: Partial<SendMessage> = {}): SendMessage => ({
    mchid: "1900000109",
    outRequestNo: `grp-${i}`,
    stockId: "9856000",
    openid: `o-${i}`,
    appid: "wx233544546545989",
    ...extra,
  });

  /** Receives (and deletes) until `count` messages arrived, with their system attributes. */
  async function receiveAll(queueUrl: string, count: number): Promise<Message[]> {
    const got: Message[] = [];
    const deadline = Date.now() + 10_000;
    while (got.length < count && Date.now() < deadline) {
      const { Messages = [] } = await sqs.client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["MessageGroupId"],
          MessageAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) continue;
      got.push(...Messages);
      await sqs.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
    return got;
  }
  const groupsByKey = (messages: Message[]) =>
    Object.fromEntries(messages.map((m) => [parseSendMessage(m.Body!).outRequestNo, m.Attributes?.MessageGroupId]));

  it("enqueue and requeue (recycled or held copies) carry the campaign id, a send of no campaign its merchant", async () => {
    const queueUrl = await sqs.createQueue(`groups-${randomUUID().slice(0, 8)}`);
    const queue = new SqsSendQueue({ client: sqs.client, queueUrl });
    await queue.enqueue([send(1, { campaignId: "camp-big" }), send(2, { campaignId: "camp-small" }), send(3)]);
    await queue.requeue(send(4, { campaignId: "camp-big", recycled: 1 }), 0);
    await queue.requeue(send(5, { campaignId: "camp-small", held: 2 }), 0);
    expect(groupsByKey(await receiveAll(queueUrl, 5))).toEqual({
      "grp-1": "camp-big",
      "grp-2": "camp-small",
      "grp-3": "merchant:1900000109",
      "grp-4": "camp-big",
      "grp-5": "camp-small",
    });
  });

  it("a send put in the DLQ keeps its group; a malformed body goes in without one", async () => {
    const queueUrl = await sqs.createQueue(`dlq-groups-${randomUUID().slice(0, 8)}`);
    const sink = new SqsDeadLetterSink({ client: sqs.client, queueUrl });
    await sink.put(JSON.stringify(send(6, { campaignId: "camp-dead" })), "CONFLICT: another request");
    await sink.put("{not json", "body: is not JSON");
    const got = await receiveAll(queueUrl, 2);
    expect(got.map((m) => [m.MessageAttributes?.failure_reason?.StringValue, m.Attributes?.MessageGroupId])).toEqual(
      expect.arrayContaining([
        ["CONFLICT: another request", "camp-dead"],
        ["body: is not JSON", undefined],
      ]),
    );
    expect(got).toHaveLength(2);
  });
});
