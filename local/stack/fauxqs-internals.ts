import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The fauxqs version whose internals `durable-sqs.ts` hooks. Its package exports only `buildApp`/`startFauxqs`, so
 * the queue and store classes are loaded from its `dist/sqs/sqsStore.js` by path; the names and fields below are
 * those of that file. Another version may move them: `loadFauxqsSqsClasses` refuses it, and the durable-queue
 * test (`test/integration/local-stack/durable-sqs.test.ts`) is what to run after updating this file.
 */
export const FAUXQS_VERSION = "1.9.2";

/** A message attribute as fauxqs keeps it (the SDK's JSON shape; binary values base64). */
export interface FauxqsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** fauxqs's `SqsMessage` (`dist/sqs/sqsTypes.d.ts`): timestamps are epoch milliseconds. */
export interface FauxqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, FauxqsMessageAttribute>;
  md5OfMessageAttributes: string;
  sentTimestamp: number;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  /** Set for a message sent with DelaySeconds (or a queue delay): invisible until then. */
  delayUntil?: number;
  /** FIFO: the message group. Standard queue: the fair-queue tenant, set by the durable layer (fauxqs drops it). */
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
}

/** A received message: invisible until `visibilityDeadline` (epoch ms), deletable with `receiptHandle`. */
export interface FauxqsInflightEntry {
  message: FauxqsMessage;
  receiptHandle: string;
  visibilityDeadline: number;
}

/** What `ReceiveMessage` returns for one message (before system attributes are added). */
export interface FauxqsReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
}

/** fauxqs's `SqsQueue`: the members the durable layer reads, overrides or fills on restore. */
export interface FauxqsQueue {
  name: string;
  url: string;
  arn: string;
  createdTimestamp: number;
  lastModifiedTimestamp: number;
  attributes: Record<string, string>;
  tags: Map<string, string>;
  /** Visible messages, served from the front (fauxqs appends; the fair-queue order moves quiet tenants' first). */
  messages: FauxqsMessage[];
  delayedMessages: FauxqsMessage[];
  inflightMessages: Map<string, FauxqsInflightEntry>;
  isFifo(): boolean;
  enqueue(message: FauxqsMessage): void;
  dequeue(
    maxCount: number,
    visibilityTimeoutOverride?: number,
    dlqResolver?: (arn: string) => FauxqsQueue | undefined,
  ): FauxqsReceivedMessage[];
  deleteMessage(receiptHandle: string): boolean;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  setAttributes(attributes: Record<string, string>): void;
  purge(): void;
  notifyWaiters(): void;
  /** Makes in-flight messages whose visibility deadline passed, and delayed ones whose delay ended, visible. */
  processTimers(): void;
}

export type FauxqsQueueClass = new (
  name: string,
  url: string,
  arn: string,
  attributes?: Record<string, string>,
  tags?: Record<string, string>,
) => FauxqsQueue;

/** fauxqs's `SqsStore`: queues by URL, name and ARN. */
export interface FauxqsSqsStore {
  queues: Map<string, FauxqsQueue>;
  queuesByName: Map<string, FauxqsQueue>;
  queuesByArn: Map<string, FauxqsQueue>;
  host: string;
  region: string | undefined;
  createQueue(
    name: string,
    url: string,
    arn: string,
    attributes?: Record<string, string>,
    tags?: Record<string, string>,
  ): FauxqsQueue;
  deleteQueue(url: string): boolean;
  buildQueueUrl(queueName: string, port: string, requestHost: string, region: string): string;
  getQueueByArn(arn: string): FauxqsQueue | undefined;
  shutdown(): void;
}

export type FauxqsSqsStoreClass = new () => FauxqsSqsStore;

/** Loads `SqsQueue` and `SqsStore` from the installed fauxqs (the same module instance its `buildApp` uses). */
export async function loadFauxqsSqsClasses(): Promise<{ SqsQueue: FauxqsQueueClass; SqsStore: FauxqsSqsStoreClass }> {
  // Node's own lookup order for the package folder; its exports map forbids `fauxqs/dist/...` as a specifier.
  const candidates = createRequire(import.meta.url).resolve.paths("fauxqs") ?? [];
  const dir = candidates.map((base) => join(base, "fauxqs")).find((d) => existsSync(join(d, "package.json")));
  if (dir === undefined) throw new Error("fauxqs is not installed (npm ci)");
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
  if (version !== FAUXQS_VERSION) {
    throw new Error(
      `local/stack/durable-sqs.ts hooks fauxqs ${FAUXQS_VERSION}'s queue internals, but fauxqs ${version} is installed: ` +
        "check local/stack/fauxqs-internals.ts against its dist/sqs/sqsStore.js, then update FAUXQS_VERSION",
    );
  }
  const module = (await import(pathToFileURL(join(dir, "dist", "sqs", "sqsStore.js")).href)) as {
    SqsQueue: FauxqsQueueClass;
    SqsStore: FauxqsSqsStoreClass;
  };
  return { SqsQueue: module.SqsQueue, SqsStore: module.SqsStore };
}
