import { ClassicLevel } from "classic-level";
import type { FauxqsMessage } from "./fauxqs-internals.js";

/** A queue as it is kept: enough to create it again with the same name, ARN, attributes and timestamps. */
export interface StoredQueue {
  name: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** Epoch seconds, as `GetQueueAttributes` reports them. */
  createdTimestamp: number;
  lastModifiedTimestamp: number;
}

/** A message as it is kept: in which queue, its full state, and its receipt while it is in flight. */
export interface StoredMessage {
  queueArn: string;
  message: FauxqsMessage;
  inflight?: { receiptHandle: string; visibilityDeadline: number };
}

const QUEUE_PREFIX = "q!";
const MESSAGE_PREFIX = "m!";

/**
 * The durable side of the local SQS stand-in: one LevelDB key per queue and per message, each holding that thing's
 * whole current state, so a write is "this is now X" and replaying or repeating one is harmless.
 *
 * Changes are recorded synchronously as they happen in memory (`put…`/`delete…`), coalesced per key, and written by
 * `durable()` as ONE batch with `sync: true` (LevelDB appends it to its log and fsyncs before answering; the write runs
 * on libuv's thread pool, not on the event loop). Batches are written one after another, in order. LevelDB's log
 * checksums every record and drops a torn tail on open, so a process killed mid-write reopens with the batches that
 * had completed ([LevelDB: synchronous writes](https://github.com/google/leveldb/blob/main/doc/index.md#synchronous-writes)).
 * A write that fails leaves the store broken: every later `durable()` rejects, so no caller is told a change is kept
 * when it may not be.
 */
export class QueueStateStore {
  readonly #db: ClassicLevel<string, string>;
  /** Changes since the last batch began: key → JSON, or null for a delete. */
  #pending = new Map<string, string | null>();
  /** The batch that will take `#pending`, once the one before it is written (undefined once it has begun). */
  #next: Promise<void> | undefined;
  /** Settles when the last batch begun or scheduled has been written (or failed). */
  #tail: Promise<void> = Promise.resolve();
  #broken: Error | undefined;

  private constructor(db: ClassicLevel<string, string>) {
    this.#db = db;
  }

  /** Opens (or creates) the store in `dir`. LevelDB locks the folder: a second process on it fails here. */
  static async open(dir: string): Promise<QueueStateStore> {
    const db = new ClassicLevel<string, string>(dir, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await db.open();
    return new QueueStateStore(db);
  }

  /** Everything kept, as of the last completed batch. */
  async load(): Promise<{ queues: StoredQueue[]; messages: StoredMessage[] }> {
    const queues: StoredQueue[] = [];
    const messages: StoredMessage[] = [];
    for await (const [key, value] of this.#db.iterator()) {
      if (key.startsWith(QUEUE_PREFIX)) queues.push(JSON.parse(value) as StoredQueue);
      else if (key.startsWith(MESSAGE_PREFIX)) messages.push(JSON.parse(value) as StoredMessage);
    }
    return { queues, messages };
  }

  putQueue(queue: StoredQueue): void {
    this.#pending.set(QUEUE_PREFIX + queue.arn, JSON.stringify(queue));
  }

  deleteQueue(arn: string): void {
    this.#pending.set(QUEUE_PREFIX + arn, null);
  }

  /** Serialised now: the message object keeps changing in memory after this call. */
  putMessage(stored: StoredMessage): void {
    this.#pending.set(MESSAGE_PREFIX + stored.message.messageId, JSON.stringify(stored));
  }

  deleteMessage(messageId: string): void {
    this.#pending.set(MESSAGE_PREFIX + messageId, null);
  }

  /** Resolves once every change recorded before this call is on disk (group commit). */
  durable(): Promise<void> {
    if (this.#pending.size > 0 && this.#next === undefined) {
      const next = this.#tail.then(() => this.#write());
      this.#next = next;
      this.#tail = next.catch(() => undefined);
    }
    // The last batch begun or scheduled holds every change recorded so far.
    return this.#tail.then(() => {
      if (this.#broken) throw this.#broken;
    });
  }

  async #write(): Promise<void> {
    if (this.#broken) throw this.#broken;
    const changes = this.#pending;
    this.#pending = new Map();
    this.#next = undefined;
    const operations = [...changes].map(([key, value]) =>
      value === null ? { type: "del" as const, key } : { type: "put" as const, key, value },
    );
    try {
      await this.#db.batch(operations, { sync: true });
    } catch (error) {
      this.#broken = new Error(`local SQS: could not write the queue store: ${(error as Error).message}`);
      throw this.#broken;
    }
  }

  /** Writes what is pending, then closes the database. */
  async close(): Promise<void> {
    try {
      await this.durable();
    } finally {
      await this.#db.close();
    }
  }
}
