import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { parseSendMessage } from "#shared/adapters/sqs/message-codec.js";
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
