import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { MessageGroupCapture, preferQuietTenants } from "./fair-queues.js";
import {
  type FauxqsInflightEntry,
  type FauxqsMessage,
  type FauxqsQueue,
  type FauxqsSqsStore,
  loadFauxqsSqsClasses,
} from "./fauxqs-internals.js";
import { QueueStateStore, type StoredMessage, type StoredQueue } from "./queue-state-store.js";

/**
 * A queue the stand-in keeps, as a CloudFormation `AWS::SQS::Queue` describes it. Applied at every start (created if
 * missing, its attributes set if it exists), as a deployment applies a template to an existing queue.
 */
export interface QueueDefinition {
  name: string;
  visibilityTimeoutSeconds: number;
  /** `MessageRetentionPeriod`, default SQS's 345,600 s (4 days). */
  messageRetentionPeriodSeconds?: number;
  /** Default `DelaySeconds` of the queue, default 0. */
  delaySeconds?: number;
  /** `RedrivePolicy`: after `maxReceiveCount` receives a message moves to `deadLetterQueue` (named in the same list). */
  redrive?: { deadLetterQueue: string; maxReceiveCount: number };
}

export interface QueueInfo {
  name: string;
  url: string;
  arn: string;
}

export interface DurableSqsOptions {
  region: string;
  queues: readonly QueueDefinition[];
  /**
   * Keep queues and messages in this folder (LevelDB) across restarts and crashes. Without it they live in memory
   * and are gone at `stop()`.
   */
  dir?: string;
  /**
   * Clock for message retention only (tests move it forward). Visibility timeouts and delays run on fauxqs's own
   * `Date.now()`.
   */
  clock?: () => number;
  /** Where the stand-in reports a failed write of its store. Default console.error. */
  log?: (line: string) => void;
}

export interface DurableSqs {
  /** `AWS_ENDPOINT_URL_SQS`, on 127.0.0.1. */
  endpoint: string;
  /** The defined queues by name. */
  queues: Record<string, QueueInfo>;
  /** Messages found in `dir` at start (visible, delayed or in flight), after retention. */
  restoredMessages: number;
  /** Stops answering, writes what is pending and closes the store. */
  stop(): Promise<void>;
}

/** SQS's default `MessageRetentionPeriod`. */
const DEFAULT_RETENTION_SECONDS = 345_600;
/** How often messages past their queue's retention are removed while running. */
const RETENTION_SWEEP_MS = 1_000;

/**
 * The local SQS: fauxqs 1.9.2 answering the SQS JSON protocol, with its queues written through to a LevelDB store so
 * that they survive a restart (`npm start` after Ctrl-C) or a crash, as SQS messages survive a Lambda crash.
 *
 * Why this design (the evidence is in docs/local-stack.md#durable-queues):
 * - fauxqs 1.9.2 keeps everything in memory. fauxqs 2.x persists (its `dataDir`), but imports `node:sqlite`, which
 *   Node 20 (the project's minimum) lacks. No other in-process SQS emulator on npm persists (local-aws-sqs keeps
 *   memory only; the others need ElasticMQ's Java or Docker).
 * - fauxqs 2.x persists by writing through at a handful of `SqsQueue`/`SqsStore` methods (enqueue, dequeue, delete,
 *   change visibility, purge, set attributes, create/delete queue). The same points exist in 1.9.2: the subclasses
 *   below record each change there, so message ids, bodies, attributes, receive counts, first-receive and sent
 *   timestamps, delays, receipt handles and visibility deadlines are kept as fauxqs holds them, and fauxqs keeps
 *   doing visibility, delay and redrive itself.
 * - A response leaves only after the changes it made are on disk (`onSend` waits for `QueueStateStore.durable()`),
 *   so an acknowledged SendMessage, ReceiveMessage or DeleteMessage is never lost and an unacknowledged one is as if
 *   it failed: what an SQS client already handles.
 * - A standard queue is an SQS fair queue, as in AWS: a message's `MessageGroupId` (which fauxqs drops) is kept, and
 *   each receive prefers quiet tenants' messages over a noisy tenant's backlog (local/stack/fair-queues.ts).
 * On start, every kept queue is created again (its URL on the new port) and its messages put back: in flight until
 * their visibility deadline (visible at once if it has passed), delayed until their delay ends, the DLQs' own
 * messages included; the redrive happens on the receive past `maxReceiveCount`, as before.
 */
export async function startDurableSqs(options: DurableSqsOptions): Promise<DurableSqs> {
  const log = options.log ?? ((line: string) => console.error(line));
  const clock = options.clock ?? Date.now;
  const classes = await loadFauxqsSqsClasses();
  const store = options.dir === undefined ? undefined : await QueueStateStore.open(options.dir);
  let client: SQSClient | undefined;
  let sweep: NodeJS.Timeout | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  const recorder = new Recorder(store);
  const stop = async () => {
    clearInterval(sweep);
    client?.destroy();
    recorder.closing = true;
    await app?.close(); // its preClose ends pending long polls; `closing` makes them answer empty
    await store?.close();
  };
  try {
    const kept = store === undefined ? { queues: [], messages: [] } : await store.load();
    const groups = new MessageGroupCapture();
    const sqsStore = durableStore(classes, recorder, groups);
    app = buildApp({ logger: false, defaultRegion: options.region, stores: { sqsStore } as never });
    // Callback style, calling done() synchronously: fauxqs's handler then runs in the same tick (MessageGroupCapture).
    app.addHook("preHandler", (request, reply, done) => {
      const refusal = groups.capture(request.headers["x-amz-target"], request.body, sqsStore);
      if (refusal === undefined) return done();
      reply
        .code(400)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-query-error", `AWS.SimpleQueueService.${refusal.__type.split("#")[1]};Sender`)
        .send(refusal);
    });
    app.addHook("onSend", async () => {
      try {
        await store?.durable();
      } catch (error) {
        log((error as Error).message);
        throw error; // answered 500: the client retries, as after an SQS InternalError
      }
    });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const port = new URL(address).port;
    const restoredMessages = restore(sqsStore, recorder, kept, port, clock());
    await store?.durable();

    const endpoint = `http://127.0.0.1:${port}`;
    client = createSqsClient({
      endpoint,
      region: options.region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const queues = await applyDefinitions(client, options.queues);

    sweep = setInterval(() => {
      if (removeExpired(sqsStore, recorder, clock()) > 0) store?.durable().catch((e: Error) => log(e.message));
    }, RETENTION_SWEEP_MS);
    sweep.unref();
    return { endpoint, queues, restoredMessages, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/** Turns fauxqs's in-memory changes into store writes; silent while restoring and without a store. */
class Recorder {
  /** Set by `stop()`: receives answer empty instead of taking messages in flight for a client that is gone. */
  closing = false;
  restoring = false;
  constructor(private readonly store: QueueStateStore | undefined) {}

  queue(queue: FauxqsQueue): void {
    if (this.store === undefined || this.restoring) return;
    this.store.putQueue(storedQueue(queue));
  }

  queueDeleted(queue: FauxqsQueue, messageIds: string[]): void {
    if (this.store === undefined) return;
    this.store.deleteQueue(queue.arn);
    for (const id of messageIds) this.store.deleteMessage(id);
  }

  message(queue: FauxqsQueue, message: FauxqsMessage, inflight?: FauxqsInflightEntry): void {
    if (this.store === undefined || this.restoring) return;
    this.store.putMessage({
      queueArn: queue.arn,
      message,
      ...(inflight === undefined
        ? {}
        : { inflight: { receiptHandle: inflight.receiptHandle, visibilityDeadline: inflight.visibilityDeadline } }),
    });
  }

  messageDeleted(messageId: string): void {
    this.store?.deleteMessage(messageId);
  }
}

function storedQueue(queue: FauxqsQueue): StoredQueue {
  return {
    name: queue.name,
    arn: queue.arn,
    attributes: { ...queue.attributes },
    tags: Object.fromEntries(queue.tags),
    createdTimestamp: queue.createdTimestamp,
    lastModifiedTimestamp: queue.lastModifiedTimestamp,
  };
}

function messageIds(queue: FauxqsQueue): string[] {
  return [
    ...queue.messages.map((m) => m.messageId),
    ...queue.delayedMessages.map((m) => m.messageId),
    ...[...queue.inflightMessages.values()].map((e) => e.message.messageId),
  ];
}

/**
 * fauxqs's store and queue with every state change recorded. Not recorded, because the kept state already means the
 * same after a restart: an in-flight message whose deadline passed (fauxqs's timer makes it visible; `restore` does
 * the same) and a delayed message whose delay ended.
 */
function durableStore(
  classes: Awaited<ReturnType<typeof loadFauxqsSqsClasses>>,
  recorder: Recorder,
  groups: MessageGroupCapture,
): FauxqsSqsStore {
  class DurableQueue extends classes.SqsQueue {
    override enqueue(message: FauxqsMessage): void {
      // A new message (SendMessage, SendMessageBatch: its MessageGroupId put back, which fauxqs drops on a standard
      // queue) or one moved here by a source queue's redrive (the same message object: its group moves with it).
      if (message.messageGroupId === undefined) {
        const groupId = groups.take(this, message);
        if (groupId !== undefined) message.messageGroupId = groupId;
      }
      super.enqueue(message);
      recorder.message(this, message);
    }

    override dequeue(
      maxCount: number,
      visibilityTimeoutOverride?: number,
      dlqResolver?: (arn: string) => FauxqsQueue | undefined,
    ) {
      if (recorder.closing) return [];
      if (!this.isFifo()) preferQuietTenants(this, maxCount);
      const received = super.dequeue(maxCount, visibilityTimeoutOverride, dlqResolver);
      for (const { ReceiptHandle } of received) {
        const entry = this.inflightMessages.get(ReceiptHandle);
        if (entry) recorder.message(this, entry.message, entry);
      }
      return received;
    }

    override deleteMessage(receiptHandle: string): boolean {
      const entry = this.inflightMessages.get(receiptHandle);
      const deleted = super.deleteMessage(receiptHandle);
      if (deleted && entry) recorder.messageDeleted(entry.message.messageId);
      return deleted;
    }

    override changeVisibility(receiptHandle: string, timeoutSeconds: number): void {
      const entry = this.inflightMessages.get(receiptHandle);
      super.changeVisibility(receiptHandle, timeoutSeconds);
      if (entry) recorder.message(this, entry.message, this.inflightMessages.get(receiptHandle));
    }

    override setAttributes(attributes: Record<string, string>): void {
      super.setAttributes(attributes);
      recorder.queue(this);
    }

    override purge(): void {
      const ids = messageIds(this);
      super.purge();
      for (const id of ids) recorder.messageDeleted(id);
    }
  }

  class DurableStore extends classes.SqsStore {
    override createQueue(
      name: string,
      url: string,
      arn: string,
      attributes?: Record<string, string>,
      tags?: Record<string, string>,
    ): FauxqsQueue {
      // FIFO queues also keep groups, sequence numbers and a de-duplication window, which are not recorded.
      if (attributes?.FifoQueue === "true") throw new Error("the durable local SQS keeps standard queues only");
      const queue = new DurableQueue(name, url, arn, attributes, tags);
      this.queues.set(url, queue);
      this.queuesByName.set(name, queue);
      this.queuesByArn.set(arn, queue);
      recorder.queue(queue);
      return queue;
    }

    override deleteQueue(url: string): boolean {
      const queue = this.queues.get(url);
      const ids = queue ? messageIds(queue) : [];
      const deleted = super.deleteQueue(url);
      if (deleted && queue) recorder.queueDeleted(queue, ids);
      return deleted;
    }
  }

  return new DurableStore();
}

/** Puts the kept queues and messages back into a fresh fauxqs store; returns the messages restored. */
function restore(
  sqsStore: FauxqsSqsStore,
  recorder: Recorder,
  kept: { queues: StoredQueue[]; messages: StoredMessage[] },
  port: string,
  now: number,
): number {
  recorder.restoring = true;
  try {
    for (const stored of kept.queues) {
      const region = stored.arn.split(":")[3] ?? sqsStore.region ?? "us-east-1";
      const url = sqsStore.buildQueueUrl(stored.name, port, `127.0.0.1:${port}`, region);
      const queue = sqsStore.createQueue(stored.name, url, stored.arn, stored.attributes, stored.tags);
      queue.createdTimestamp = stored.createdTimestamp;
      queue.lastModifiedTimestamp = stored.lastModifiedTimestamp;
    }
    const visible = new Map<FauxqsQueue, FauxqsMessage[]>();
    let restored = 0;
    for (const { queueArn, message, inflight } of kept.messages) {
      const queue = sqsStore.getQueueByArn(queueArn);
      if (queue === undefined || isExpired(queue, message, now)) {
        recorder.messageDeleted(message.messageId);
        continue;
      }
      restored++;
      // Visibility and delay deadlines are epoch milliseconds: what was still hidden stays hidden until then.
      if (inflight !== undefined && inflight.visibilityDeadline > Date.now()) {
        queue.inflightMessages.set(inflight.receiptHandle, { message, ...inflight });
      } else if (message.delayUntil !== undefined && message.delayUntil > Date.now()) {
        queue.delayedMessages.push(message);
      } else {
        visible.set(queue, [...(visible.get(queue) ?? []), message]);
      }
    }
    // Oldest first, as fauxqs serves them (standard queues promise no order: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html).
    for (const [queue, messages] of visible) {
      queue.messages.push(...messages.sort((a, b) => a.sentTimestamp - b.sentTimestamp));
      queue.notifyWaiters();
    }
    return restored;
  } finally {
    recorder.restoring = false;
  }
}

/**
 * SQS deletes a message once it has been in the queue longer than the queue's `MessageRetentionPeriod`, counted from
 * when it was first sent, also after a move to a DLQ (docs/aws-notes.md#retries-back-off-and-the-dlq). fauxqs 1.9.2
 * never does; the stand-in does it at start and every second.
 */
function isExpired(queue: FauxqsQueue, message: FauxqsMessage, now: number): boolean {
  const retentionSeconds = Number(queue.attributes.MessageRetentionPeriod ?? DEFAULT_RETENTION_SECONDS);
  return now - message.sentTimestamp >= retentionSeconds * 1000;
}

function removeExpired(sqsStore: FauxqsSqsStore, recorder: Recorder, now: number): number {
  let removed = 0;
  const keep = (queue: FauxqsQueue, message: FauxqsMessage) => {
    if (!isExpired(queue, message, now)) return true;
    recorder.messageDeleted(message.messageId);
    removed++;
    return false;
  };
  for (const queue of sqsStore.queues.values()) {
    // Filtered (a new array) only when something expired: this runs every second over every message.
    if (queue.messages.some((m) => isExpired(queue, m, now)))
      queue.messages = queue.messages.filter((m) => keep(queue, m));
    if (queue.delayedMessages.some((m) => isExpired(queue, m, now)))
      queue.delayedMessages = queue.delayedMessages.filter((m) => keep(queue, m));
    for (const [handle, entry] of queue.inflightMessages) {
      if (!keep(queue, entry.message)) queue.inflightMessages.delete(handle);
    }
  }
  return removed;
}

/**
 * Creates the defined queues that do not exist yet, then sets every defined queue's attributes (the redrive policy
 * needs its DLQ's ARN, hence two passes). CreateQueue is sent without attributes: SQS refuses it for an existing
 * queue whose attributes differ, and a definition may have changed since the queue was kept.
 */
async function applyDefinitions(
  client: SQSClient,
  definitions: readonly QueueDefinition[],
): Promise<Record<string, QueueInfo>> {
  const queues: Record<string, QueueInfo> = {};
  for (const { name } of definitions) {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    queues[name] = { name, url: QueueUrl!, arn: Attributes?.QueueArn ?? "" };
  }
  for (const definition of definitions) {
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(definition.messageRetentionPeriodSeconds ?? DEFAULT_RETENTION_SECONDS),
      DelaySeconds: String(definition.delaySeconds ?? 0),
    };
    if (definition.redrive !== undefined) {
      const dlq = queues[definition.redrive.deadLetterQueue];
      if (dlq === undefined) {
        throw new Error(
          `queue ${definition.name}: dead-letter queue ${definition.redrive.deadLetterQueue} is not defined`,
        );
      }
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: definition.redrive.maxReceiveCount,
      });
    }
    await client.send(
      new SetQueueAttributesCommand({ QueueUrl: queues[definition.name]!.url, Attributes: attributes }),
    );
  }
  return queues;
}
