import { randomUUID } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { FunctionHost } from "../function-host/function-host.js";
import { FunctionError } from "../function-host/invoke-adapters.js";
import { checkPattern, type EventPattern, matchesPattern } from "./event-pattern.js";
import type { ItemChange } from "./table-changes.js";

export interface StreamMappingOptions {
  host: FunctionHost;
  functionArn: string;
  streamArn: string;
  region: string;
  /** The table's key attributes (the stream record's `Keys`). */
  keyNames: string[];
  /** FilterCriteria patterns from the template; none: every record. */
  filters: EventPattern[];
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  /** -1: until the record would leave the stream (never, locally). */
  maximumRetryAttempts: number;
  /** A batch whose first record is older than this goes to the OnFailure queue untried; -1: never. */
  maximumRecordAgeInSeconds: number;
  bisectBatchOnFunctionError: boolean;
  /** `FunctionResponseTypes` has `ReportBatchItemFailures`: the function's `batchItemFailures` are read. */
  reportBatchItemFailures: boolean;
  /** The OnFailure destination (an SQS queue URL) and a client that may send to it. */
  onFailure?: { queueUrl: string; sqs: SQSClient };
  /** Back-off between retries of a failed batch, doubling; default 500 ms, at most 30 s. */
  retryBaseMs?: number;
  log?: (line: string) => void;
}

export interface StreamMapping {
  /** Hands one committed change to the stream (in commit order). */
  push(change: ItemChange): void;
  /** Resolves once every record pushed so far was processed (or given up on). */
  drained(): Promise<void>;
  readonly invocations: number;
  stop(): Promise<void>;
}

/**
 * Lambda's DynamoDB stream event source mapping, as the template configures it
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): one shard, so one batch at a time in commit order;
 * records not matching any filter are dropped before batching (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html);
 * up to `BatchSize` records, waiting up to the batching window to fill a batch; a failed batch is split in halves
 * (`BisectBatchOnFunctionError`) and retried with back-off until `MaximumRetryAttempts`, or until its first record
 * is older than `MaximumRecordAgeInSeconds`; then its batch info goes to the OnFailure queue, in Lambda's record
 * format (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq-ddb), and
 * the mapping moves on. With `ReportBatchItemFailures` a response naming a record's sequence number counts the
 * records before the first one named as done and retries from it (split there); a response naming no record of the
 * batch fails it whole (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html). Not
 * reproduced (docs/local-stack.md#table-stream): the stream's 24-hour retention and shards.
 */
export function startStreamMapping(options: StreamMappingOptions): StreamMapping {
  for (const filter of options.filters) checkPattern(filter);
  const log = options.log ?? (() => {});
  const pending: DynamoDBRecord[] = [];
  let sequence = 0;
  let invocations = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const waiters: (() => void)[] = [];
  let busy = false;

  const toRecord = (change: ItemChange): DynamoDBRecord => {
    const image = (change.newImage ?? change.oldImage)!;
    sequence += 1;
    return {
      eventID: randomUUID().replace(/-/g, ""),
      eventName: change.eventName,
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: options.region,
      eventSourceARN: options.streamArn,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(change.at / 1000),
        Keys: Object.fromEntries(options.keyNames.map((k) => [k, image[k]])) as never,
        ...(change.newImage ? { NewImage: change.newImage as never } : {}),
        ...(change.oldImage ? { OldImage: change.oldImage as never } : {}),
        SequenceNumber: String(sequence).padStart(21, "0"),
        SizeBytes: Buffer.byteLength(JSON.stringify(change.newImage ?? change.oldImage)),
        StreamViewType: "NEW_AND_OLD_IMAGES",
      },
    };
  };

  const settle = () => {
    if (pending.length === 0 && !busy) for (const w of waiters.splice(0)) w();
  };

  /** Invokes the function: how many of the batch's records are done (all of them unless it reported a failure). */
  const invoke = async (records: DynamoDBRecord[]): Promise<number> => {
    invocations += 1;
    const result = await options.host.invoke({ Records: records } satisfies DynamoDBStreamEvent);
    if (!result.ok) throw new FunctionError(result);
    if (!options.reportBatchItemFailures) return records.length;
    const failures = (result.value as DynamoDBBatchResponse | null | undefined)?.batchItemFailures ?? [];
    if (failures.length === 0) return records.length;
    const indexes = failures.map((f) => records.findIndex((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier));
    if (indexes.some((i) => i < 0)) throw new Error("batchItemFailures names no record of the batch");
    return Math.min(...indexes);
  };

  const tooOld = (records: DynamoDBRecord[]): boolean => {
    const maxAge = options.maximumRecordAgeInSeconds;
    const created = records[0]?.dynamodb?.ApproximateCreationDateTime;
    return maxAge >= 0 && created !== undefined && Date.now() / 1000 - created > maxAge;
  };

  /** Processes one batch: split on error (or at the reported record), retried, then reported to the OnFailure queue. */
  const process = async (batch: DynamoDBRecord[]): Promise<void> => {
    let records = batch;
    let attempt = 0;
    for (;;) {
      if (tooOld(records)) {
        await reportFailure(records, attempt, "RecordAgeExceeded");
        return;
      }
      let done: number;
      let reason: string;
      try {
        done = await invoke(records);
        if (done === records.length) return;
        reason = `reported sequence number ${records[done]!.dynamodb!.SequenceNumber} failed`;
      } catch (error) {
        done = 0;
        reason = (error as Error).message;
      }
      if (stopped) return;
      if (done > 0) {
        // The records before the first failure are checkpointed; the rest is retried as its own batch.
        records = records.slice(done);
      } else if (options.bisectBatchOnFunctionError && records.length > 1) {
        const half = Math.ceil(records.length / 2);
        await process(records.slice(0, half));
        await process(records.slice(half));
        return;
      }
      attempt += 1;
      const max = options.maximumRetryAttempts;
      log(`stream: ${options.functionArn} failed (${reason}); retry ${attempt}`);
      if (max >= 0 && attempt > max) {
        await reportFailure(records, attempt, "RetryAttemptsExhausted");
        return;
      }
      const base = options.retryBaseMs ?? 500;
      await sleep(Math.min(30_000, base * 2 ** Math.min(attempt - 1, 10)));
      if (stopped) return;
    }
  };

  const reportFailure = async (
    records: DynamoDBRecord[],
    invokeCount: number,
    condition: "RetryAttemptsExhausted" | "RecordAgeExceeded",
  ) => {
    if (!options.onFailure) return;
    const first = records[0]!.dynamodb!;
    const last = records[records.length - 1]!.dynamodb!;
    const body = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: options.functionArn,
        condition,
        approximateInvokeCount: invokeCount,
      },
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      version: "1.0",
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: "shardId-local",
        startSequenceNumber: first.SequenceNumber,
        endSequenceNumber: last.SequenceNumber,
        approximateArrivalOfFirstRecord: new Date(first.ApproximateCreationDateTime! * 1000).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.ApproximateCreationDateTime! * 1000).toISOString(),
        batchSize: records.length,
        streamArn: options.streamArn,
      },
    };
    await options.onFailure.sqs.send(
      new SendMessageCommand({ QueueUrl: options.onFailure.queueUrl, MessageBody: JSON.stringify(body) }),
    );
  };

  const loop = async () => {
    while (!stopped) {
      if (pending.length === 0) {
        settle();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      busy = true;
      if (pending.length < options.batchSize && options.maximumBatchingWindowSeconds > 0) {
        await sleep(options.maximumBatchingWindowSeconds * 1000);
      }
      const batch = pending.splice(0, options.batchSize);
      try {
        await process(batch);
      } catch (error) {
        log(`stream: could not report a failed batch: ${(error as Error).message}`);
      }
      busy = false;
    }
    settle();
  };
  const running = loop();

  return {
    push(change) {
      if (stopped) return;
      const record = toRecord(change);
      if (options.filters.length > 0 && !options.filters.some((f) => matchesPattern(f, record))) return;
      pending.push(record);
      wake?.();
    },
    drained() {
      if (pending.length === 0 && !busy) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    get invocations() {
      return invocations;
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
      for (const w of waiters.splice(0)) w();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
