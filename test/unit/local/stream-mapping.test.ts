import type { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { startStreamMapping } from "#local/stack/events/stream-mapping.js";
import type { FunctionHost, Invocation } from "#local/stack/function-host/function-host.js";

/** A function host whose answers the test decides; it keeps the records of each invocation. */
function scriptedHost(answer: (records: DynamoDBRecord[], call: number) => unknown) {
  const seen: string[][] = [];
  const host = {
    invoke: async (event: unknown): Promise<Invocation> => {
      const records = (event as { Records: DynamoDBRecord[] }).Records;
      seen.push(records.map((r) => String(r.dynamodb?.Keys?.pk?.S)));
      return { ok: true, value: answer(records, seen.length), durationMs: 1, queuedMs: 0, maxHeapUsedBytes: 0 };
    },
  } as unknown as FunctionHost;
  return { host, seen };
}

function failureQueue() {
  const sent: Record<string, unknown>[] = [];
  const sqs = {
    send: async (command: SendMessageCommand) => {
      sent.push(JSON.parse(command.input.MessageBody!) as Record<string, unknown>);
      return {};
    },
  } as unknown as SQSClient;
  return { sent, onFailure: { queueUrl: "http://local/queue/stream-dlq", sqs } };
}

const base = {
  functionArn: "arn:aws:lambda:us-east-1:000000000000:function:publisher",
  streamArn: "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/local",
  region: "us-east-1",
  keyNames: ["pk"],
  filters: [],
  batchSize: 10,
  maximumBatchingWindowSeconds: 0,
  bisectBatchOnFunctionError: true,
  retryBaseMs: 1,
};

const change = (pk: string, at = Date.now()) => ({
  tableName: "t",
  eventName: "INSERT" as const,
  newImage: { pk: { S: pk } },
  at,
});

describe("local stream mapping (as the template configures Lambda's)", () => {
  it("with ReportBatchItemFailures, retries from the first reported record without the records before it", async () => {
    const { host, seen } = scriptedHost((records, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: records[1]!.dynamodb!.SequenceNumber }] } : null,
    );
    const mapping = startStreamMapping({
      ...base,
      host,
      maximumRetryAttempts: 5,
      maximumRecordAgeInSeconds: -1,
      reportBatchItemFailures: true,
    });
    for (const pk of ["a", "b", "c"]) mapping.push(change(pk));
    await mapping.drained();
    await mapping.stop();
    expect(seen).toEqual([
      ["a", "b", "c"],
      ["b", "c"],
    ]);
  });

  it("hands a record that keeps failing to the OnFailure queue after MaximumRetryAttempts, and moves on", async () => {
    const { host, seen } = scriptedHost((records) =>
      records.some((r) => r.dynamodb?.Keys?.pk?.S === "bad")
        ? {
            batchItemFailures: [
              { itemIdentifier: records.find((r) => r.dynamodb?.Keys?.pk?.S === "bad")!.dynamodb!.SequenceNumber },
            ],
          }
        : null,
    );
    const { sent, onFailure } = failureQueue();
    const mapping = startStreamMapping({
      ...base,
      host,
      onFailure,
      maximumRetryAttempts: 2,
      maximumRecordAgeInSeconds: -1,
      reportBatchItemFailures: true,
    });
    mapping.push(change("bad"));
    await mapping.drained();
    mapping.push(change("next"));
    await mapping.drained();
    await mapping.stop();
    expect(seen).toEqual([["bad"], ["bad"], ["bad"], ["next"]]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      requestContext: { condition: "RetryAttemptsExhausted", approximateInvokeCount: 3 },
      DDBStreamBatchInfo: { batchSize: 1, streamArn: base.streamArn },
    });
  });

  it("gives a batch older than MaximumRecordAgeInSeconds to the OnFailure queue without invoking the function", async () => {
    const { host, seen } = scriptedHost(() => null);
    const { sent, onFailure } = failureQueue();
    const mapping = startStreamMapping({
      ...base,
      host,
      onFailure,
      maximumRetryAttempts: 2,
      maximumRecordAgeInSeconds: 60,
      reportBatchItemFailures: true,
    });
    mapping.push(change("old", Date.now() - 120_000));
    await mapping.drained();
    await mapping.stop();
    expect(seen).toEqual([]);
    expect(sent).toMatchObject([{ requestContext: { condition: "RecordAgeExceeded" } }]);
  });
});
