import { type MessageAttributeValue, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { QueueError } from "../../domain/errors.js";

export interface OutgoingMessage {
  body: string;
  attributes?: Record<string, string>;
  delaySeconds?: number;
  /**
   * `MessageGroupId`: on a standard queue it names the message's tenant for SQS fair queues
   * (docs/aws-notes.md#fair-queues); at most 128 printable ASCII characters.
   */
  groupId?: string;
}

export interface BatchSendOptions {
  /** Rounds of retries for entries a batch reported as failed (or a batch call that threw). Default 4. */
  maxAttempts?: number;
  /** First back-off in ms, doubled each round with jitter. Default 50. */
  baseDelayMs?: number;
  /** SendMessageBatch calls in flight at once. Default 8. */
  concurrency?: number;
}

const DEFAULT_CONCURRENCY = 8;

/** SQS takes at most 10 entries (and 256 KiB) per SendMessageBatch. */
export const SQS_BATCH_SIZE = 10;

/**
 * Sends every message, 10 per SendMessageBatch. SendMessageBatch succeeds as a call while failing single entries
 * (`Failed[]`): those are retried with back-off, never dropped. Entries failing with `SenderFault` (a malformed
 * message) cannot succeed later and end the loop at once. Throws `QueueError` naming how many did not go in.
 */
export async function sendAllInBatches(
  client: SQSClient,
  queueUrl: string,
  messages: OutgoingMessage[],
  options: BatchSendOptions = {},
): Promise<void> {
  if (messages.length === 0) return;
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 50;
  let pending = messages.map((m, i) => ({ id: String(i), message: m }));
  let lastCodes: string[] = [];
  let lastError: unknown;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const failed: typeof pending = [];
    let senderFault = false;
    lastCodes = [];
    const chunks: (typeof pending)[] = [];
    for (let i = 0; i < pending.length; i += SQS_BATCH_SIZE) chunks.push(pending.slice(i, i + SQS_BATCH_SIZE));
    // A few batches in flight at once: a 10,000-recipient chunk is 1,000 calls, too slow one after another.
    await forEachConcurrently(chunks, options.concurrency ?? DEFAULT_CONCURRENCY, async (chunk) => {
      try {
        const result = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map(({ id, message }) => ({
              Id: id,
              MessageBody: message.body,
              ...(message.delaySeconds === undefined ? {} : { DelaySeconds: message.delaySeconds }),
              ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
              ...(message.attributes === undefined
                ? {}
                : { MessageAttributes: toMessageAttributes(message.attributes) }),
            })),
          }),
        );
        const failedIds = new Set((result.Failed ?? []).map((f) => f.Id));
        for (const f of result.Failed ?? []) {
          lastCodes.push(f.Code ?? "UNKNOWN");
          if (f.SenderFault) senderFault = true;
        }
        failed.push(...chunk.filter((e) => failedIds.has(e.id)));
      } catch (error) {
        // The whole call failed (network, throttling beyond the SDK's own retries): retry the whole chunk.
        lastError = error;
        lastCodes.push((error as { name?: string }).name ?? "Error");
        failed.push(...chunk);
      }
    });
    pending = failed;
    if (pending.length === 0) return;
    if (senderFault || attempt >= maxAttempts) break;
    await sleep(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
  }
  throw new QueueError(
    `${pending.length} of ${messages.length} messages could not be enqueued (${[...new Set(lastCodes)].join(", ")})`,
    pending.length,
    [...new Set(lastCodes)],
    lastError === undefined ? undefined : { cause: lastError },
  );
}

function toMessageAttributes(attributes: Record<string, string>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) out[name] = { DataType: "String", StringValue: value };
  return out;
}

async function forEachConcurrently<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
