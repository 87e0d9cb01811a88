import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from "aws-lambda";
import { makeLambdaContext } from "./lambda-context.js";

/** An SQS-triggered Lambda handler (partial batch responses on, as the CDK stack configures it). */
export type SqsLambdaHandler = (
  event: SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse | undefined> | Promise<void>;

export interface SqsPollerOptions {
  client: SQSClient;
  queueUrl: string;
  handler: SqsLambdaHandler;
  /** Records per invocation (1–10), default 10 (the mapping's `BatchSize`). */
  batchSize?: number;
  /**
   * The mapping's `MaximumBatchingWindowInSeconds`: after the first messages arrive, keep receiving until the batch is
   * full or the window has passed. Default 0 (invoke with what the first receive returned).
   */
  maximumBatchingWindowSeconds?: number;
  /**
   * The mapping's `FunctionResponseTypes` includes `ReportBatchItemFailures`: read `batchItemFailures` from the
   * response. Without it Lambda ignores the response and a successful invocation deletes the whole batch. Default true.
   */
  reportBatchItemFailures?: boolean;
  /** Long-poll wait, default 2 s. `stop()` lets a pending poll finish (so at most this long) and hands back what it brings. */
  waitTimeSeconds?: number;
  /** Batches in flight at once (the event source mapping's maximum concurrency), default 1. */
  maxConcurrency?: number;
  functionName?: string;
  /** Lambda timeout for the context, default 30 s. */
  timeoutMs?: number;
  region?: string;
  /** Errors of the poller itself and handler throws (name and message). Default console.error. */
  log?: (message: string) => void;
}

export interface SqsPoller {
  /** Stops polling, waits for pending receives (handing their messages back) and for the batches in flight. */
  stop(): Promise<void>;
  /** Invocations so far (tests). */
  readonly invocations: number;
}

/**
 * The local event source mapping: long-polls a queue, invokes the handler with a real `SQSEvent`, deletes the
 * records not named in `batchItemFailures`, and leaves failures to reappear after the visibility timeout (the
 * queue's RedrivePolicy moves them to the DLQ after maxReceiveCount). A thrown error, or a response naming an
 * unknown/empty messageId, fails the whole batch, as in Lambda.
 */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const log = options.log ?? ((m: string) => console.error(m));
  const region = options.region ?? process.env.AWS_REGION ?? "us-east-1";
  let running = true;
  let invocations = 0;
  let queueArn: string | undefined;

  const arn = async (): Promise<string> => {
    if (queueArn === undefined) {
      const { Attributes } = await options.client.send(
        new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ["QueueArn"] }),
      );
      queueArn = Attributes?.QueueArn ?? "";
    }
    return queueArn;
  };

  async function loop(): Promise<void> {
    while (running) {
      let messages: Message[];
      try {
        const eventSourceARN = await arn();
        const result = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 2,
            MessageSystemAttributeNames: ["All"],
            MessageAttributeNames: ["All"],
          }),
        );
        messages = result.Messages ?? [];
        if (messages.length === 0) continue;
        if (!running) {
          await release(messages);
          return;
        }
        messages = await fillBatchingWindow(messages);
        invocations++;
        await invoke(messages.map((m) => toRecord(m, eventSourceARN, region)));
      } catch (error) {
        if (!running) return;
        log(`sqs-poller: ${describe(error)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Lambda's batching window: more receives until the batch is full or the window is over. */
  async function fillBatchingWindow(first: Message[]): Promise<Message[]> {
    const batchSize = options.batchSize ?? 10;
    const windowMs = (options.maximumBatchingWindowSeconds ?? 0) * 1000;
    const deadline = Date.now() + windowMs;
    const batch = [...first];
    while (running && batch.length < batchSize && Date.now() < deadline) {
      const result = await options.client.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: batchSize - batch.length,
          // SQS long polls in whole seconds; the window is short, so one second at most per receive.
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      // Not aborted by stop(): what this receive brings joins the batch, which the caller hands back if stopping.
      batch.push(...(result.Messages ?? []));
    }
    return batch;
  }

  async function invoke(records: SQSRecord[]): Promise<void> {
    const context = makeLambdaContext({
      functionName: options.functionName ?? "local-sqs-consumer",
      timeoutMs: options.timeoutMs ?? 30_000,
      region,
    });
    const ids = new Set(records.map((r) => r.messageId));
    let failed: Set<string>;
    try {
      const response = await options.handler({ Records: records }, context);
      const items = (options.reportBatchItemFailures ?? true) ? (response?.batchItemFailures ?? []) : [];
      // Lambda treats an empty, null or unknown itemIdentifier as a failure of the whole batch.
      failed = items.every((f) => typeof f.itemIdentifier === "string" && ids.has(f.itemIdentifier))
        ? new Set(items.map((f) => f.itemIdentifier))
        : ids;
    } catch (error) {
      log(`sqs-poller: handler ${context.functionName} threw: ${describe(error)}`);
      failed = ids;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    // Deletion is not aborted by stop(): a processed message must not come back.
    const result = await options.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
      }),
    );
    for (const f of result.Failed ?? [])
      log(`sqs-poller: delete failed (${f.Code ?? "unknown"}): the message will be redelivered`);
  }

  /**
   * Messages a receive brought in after `stop()`: visible again at once. Aborting the receive instead would leave
   * them in flight, unseen by anyone, for the visibility timeout (a minute locally) after a restart of the stack.
   */
  async function release(messages: Message[]): Promise<void> {
    const result = await options.client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    for (const f of result.Failed ?? [])
      log(
        `sqs-poller: could not hand a message back (${f.Code ?? "unknown"}): it returns after the visibility timeout`,
      );
  }

  const loops = Array.from({ length: Math.max(1, options.maxConcurrency ?? 1) }, () => loop());
  return {
    async stop() {
      running = false;
      await Promise.allSettled(loops);
    },
    get invocations() {
      return invocations;
    },
  };
}

/** Maps an SDK message to the record Lambda's SQS event source delivers. */
export function toRecord(m: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const a = m.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? "000000000000",
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const name of ["AWSTraceHeader", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId"] as const) {
    if (a[name] !== undefined) attributes[name] = a[name];
  }
  return {
    messageId: m.MessageId ?? "",
    receiptHandle: m.ReceiptHandle ?? "",
    body: m.Body ?? "",
    attributes,
    messageAttributes: toRecordAttributes(m.MessageAttributes ?? {}),
    md5OfBody: m.MD5OfBody ?? "",
    ...(m.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: m.MD5OfMessageAttributes }),
    eventSource: "aws:sqs",
    eventSourceARN,
    awsRegion,
  };
}

/** SDK `{DataType, StringValue, BinaryValue}` → Lambda's `{dataType, stringValue, binaryValue (base64), …ListValues}`. */
function toRecordAttributes(input: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(input)) {
    out[name] = {
      dataType: v.DataType ?? "String",
      stringListValues: [],
      binaryListValues: [],
      ...(v.StringValue === undefined ? {} : { stringValue: v.StringValue }),
      ...(v.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(v.BinaryValue).toString("base64") }),
    };
  }
  return out;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
