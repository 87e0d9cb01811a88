import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { parseSendMessage } from "#shared/adapters/sqs/message-codec.js";
import { SqsSendQueue } from "#shared/adapters/sqs/sqs-send-queue.js";
import { QueueError } from "#shared/domain/errors.js";
import type { SendMessage } from "#shared/domain/ports.js";

const sqsMock = mockClient(SQSClient);
afterEach(() => sqsMock.reset());

const messages = (n: number): SendMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    mchid: "1",
    outRequestNo: `o${i}`,
    stockId: "s",
    openid: `u${i}`,
    appid: "wx",
  }));

const queue = () =>
  new SqsSendQueue({ client: new SQSClient({ region: "us-east-1" }), queueUrl: "https://sqs/q", baseDelayMs: 1 });

const entriesOf = (i: number) =>
  (sqsMock.commandCalls(SendMessageBatchCommand)[i]!.args[0].input as SendMessageBatchCommandInput).Entries ?? [];

describe("SqsSendQueue partial batch failures", () => {
  it("retries exactly the entries a batch reported as failed, until all are in", async () => {
    let call = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      call++;
      // First round: the second batch loses entries 12 and 15 (throttled), then everything succeeds.
      const failIds = call === 2 ? ["12", "15"] : [];
      const entries = input.Entries ?? [];
      return {
        Successful: entries
          .filter((e) => !failIds.includes(e.Id!))
          .map((e) => ({ Id: e.Id, MessageId: `m${e.Id}`, MD5OfMessageBody: "" })),
        Failed: failIds.map((Id) => ({ Id, Code: "ThrottlingException", SenderFault: false, Message: "slow down" })),
      };
    });
    await queue().enqueue(messages(20));
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
    expect(entriesOf(0)).toHaveLength(10);
    expect(entriesOf(1)).toHaveLength(10);
    expect(entriesOf(2).map((e) => parseSendMessage(e.MessageBody!).outRequestNo)).toEqual(["o12", "o15"]);
  });

  it("retries a batch whose call threw, then gives up with a QueueError that counts what is missing", async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(Object.assign(new Error("socket hang up"), { name: "TimeoutError" }));
    const error = await queue()
      .enqueue(messages(12))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueError);
    expect(error).toMatchObject({ code: "QUEUE_UNAVAILABLE", failedCount: 12, failedCodes: ["TimeoutError"] });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(8); // 2 batches × 4 attempts
  });

  it("stops at once on a sender fault (a message SQS will never accept)", async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: "0", Code: "InvalidMessageContents", SenderFault: true, Message: "bad" }],
    });
    const error = await queue()
      .enqueue(messages(1))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ failedCount: 1, failedCodes: ["InvalidMessageContents"] });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });
});
