import { randomUUID } from "node:crypto";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulators, startEmulators } from "#local/stack/emulators.js";
import { type SqsLambdaHandler, startSqsPoller } from "#local/stack/sqs-poller.js";
import { parseSendMessage } from "#shared/adapters/sqs/message-codec.js";
import { SqsSendQueue } from "#shared/adapters/sqs/sqs-send-queue.js";

let emulators: Emulators;
let sqs: SQSClient;
beforeAll(async () => {
  emulators = await startEmulators({ sendVisibilityTimeoutSeconds: 1 });
  sqs = emulators.sqs;
});
afterAll(async () => {
  await emulators?.stop();
});

/** A fresh queue + DLQ (1 s visibility, maxReceiveCount 5) per test, so tests do not see each other's messages. */
async function queuePair(): Promise<{ url: string; arn: string; dlqUrl: string }> {
  const name = `t-${randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = await arnOf(dlq.QueueUrl!);
  const main = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: "1",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
      },
    }),
  );
  return { url: main.QueueUrl!, arn: await arnOf(main.QueueUrl!), dlqUrl: dlq.QueueUrl! };
}

async function arnOf(url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return Attributes!.QueueArn!;
}

async function visibleAndInFlight(url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

const send = (url: string, body: string) => sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
const failures = (records: SQSRecord[]): SQSBatchResponse => ({
  batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })),
});

describe("local SQS poller", () => {
  it("delivers real SQSEvent records, with receive count and mapped message attributes", async () => {
    const q = await queuePair();
    await new SqsSendQueue({ client: sqs, queueUrl: q.url }).enqueue([
      { mchid: "1900000109", outRequestNo: "o-1", campaignId: "camp-7", stockId: "s", openid: "u", appid: "wx" },
    ]);
    const events: SQSEvent[] = [];
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: q.url,
      waitTimeSeconds: 1,
      handler: async (e) => void events.push(e),
    });
    await expect.poll(() => events.length, { timeout: 5_000 }).toBe(1);
    await poller.stop();
    const record = events[0]!.Records[0]!;
    expect(record).toMatchObject({
      eventSource: "aws:sqs",
      eventSourceARN: q.arn,
      awsRegion: "us-east-1",
      attributes: { ApproximateReceiveCount: "1" },
      messageAttributes: {
        campaign_id: { dataType: "String", stringValue: "camp-7", stringListValues: [], binaryListValues: [] },
      },
    });
    expect(record.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(parseSendMessage(record.body)).toMatchObject({ outRequestNo: "o-1", campaignId: "camp-7" });
  });

  it("deletes the records that succeeded and lets reported failures come back", async () => {
    const q = await queuePair();
    for (const body of ["ok-1", "ok-2", "flaky"]) await send(q.url, body);
    const deliveries: Array<{ body: string; count: string }> = [];
    const handler: SqsLambdaHandler = async (event) => {
      for (const r of event.Records) deliveries.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
      // "flaky" fails on its first delivery only.
      return failures(event.Records.filter((r) => r.body === "flaky" && r.attributes.ApproximateReceiveCount === "1"));
    };
    const poller = startSqsPoller({ client: sqs, queueUrl: q.url, waitTimeSeconds: 1, handler });
    await expect
      .poll(() => deliveries.some((d) => d.body === "flaky" && d.count === "2"), { timeout: 10_000 })
      .toBe(true);
    await expect.poll(() => visibleAndInFlight(q.url), { timeout: 5_000 }).toBe(0);
    await poller.stop();
    expect(deliveries.filter((d) => d.body.startsWith("ok-")).map((d) => d.count)).toEqual(["1", "1"]);
  });

  it("moves a message that fails 5 times to the DLQ", async () => {
    const q = await queuePair();
    await send(q.url, "poison");
    const counts: string[] = [];
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: q.url,
      waitTimeSeconds: 1,
      handler: async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        return failures(event.Records);
      },
    });
    await expect
      .poll(
        async () => {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, WaitTimeSeconds: 0 }),
          );
          return Messages.map((m) => m.Body);
        },
        { timeout: 15_000, interval: 250 },
      )
      .toEqual(["poison"]);
    await poller.stop();
    expect(counts).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("treats a thrown error, or a failure naming an unknown message, as a failure of the whole batch", async () => {
    const q = await queuePair();
    await send(q.url, "a");
    let calls = 0;
    const logged: string[] = [];
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: q.url,
      waitTimeSeconds: 1,
      log: (m) => logged.push(m),
      handler: async () => {
        calls++;
        if (calls === 1) throw new Error("worker crashed");
        if (calls === 2) return { batchItemFailures: [{ itemIdentifier: "not-a-message-id" }] };
        return { batchItemFailures: [] };
      },
    });
    await expect.poll(() => calls, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => visibleAndInFlight(q.url), { timeout: 5_000 }).toBe(0);
    await poller.stop();
    expect(logged.some((l) => l.includes("worker crashed"))).toBe(true);
  });

  it("runs up to maxConcurrency batches at once", async () => {
    const q = await queuePair();
    for (let i = 0; i < 4; i++) await send(q.url, `m${i}`);
    let inFlight = 0;
    let maxInFlight = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: q.url,
      batchSize: 1,
      maxConcurrency: 3,
      waitTimeSeconds: 1,
      handler: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await gate;
        inFlight--;
      },
    });
    await expect.poll(() => maxInFlight, { timeout: 5_000 }).toBe(3);
    release();
    await expect.poll(() => visibleAndInFlight(q.url), { timeout: 5_000 }).toBe(0);
    await poller.stop();
    expect(maxInFlight).toBe(3);
  });

  it("stop() waits for the batch in flight and still deletes it", async () => {
    const q = await queuePair();
    await send(q.url, "slow");
    let started = false;
    let finish: () => void = () => {};
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: q.url,
      waitTimeSeconds: 1,
      handler: () =>
        new Promise<void>((resolve) => {
          started = true;
          finish = resolve;
        }),
    });
    await expect.poll(() => started, { timeout: 5_000 }).toBe(true);
    let stopped = false;
    const stopping = poller.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(await visibleAndInFlight(q.url)).toBe(0);
  });
  it("stop() hands back what a pending receive brings in while stopping, instead of leaving it in flight", async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `t-${randomUUID().slice(0, 8)}`, Attributes: { VisibilityTimeout: "60" } }),
    );
    let invoked = false;
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: QueueUrl!,
      waitTimeSeconds: 2,
      handler: async () => {
        invoked = true;
      },
    });
    await new Promise((r) => setTimeout(r, 300)); // its first long poll is pending on the empty queue
    const stopping = poller.stop();
    await send(QueueUrl!, "arrives while stopping");
    await stopping;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" });
    expect(invoked).toBe(false);
  });
});
