import type { FauxqsMessage, FauxqsMessageAttribute, FauxqsQueue, FauxqsSqsStore } from "./fauxqs-internals.js";

/**
 * Amazon SQS fair queues on the local stand-in (docs/local-stack.md#fair-queues).
 *
 * In SQS a standard queue whose messages carry a `MessageGroupId` is a fair queue: the group names the message's
 * tenant, and when one tenant holds a disproportionate share of the in-flight messages, ReceiveMessage returns the
 * other (quiet) tenants' messages first
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-fair-queues-detailed.html).
 * fauxqs 1.9.2 accepts a `MessageGroupId` on a standard queue but drops it (its SendMessage/SendMessageBatch pass it
 * to the message only for FIFO queues) and serves visible messages oldest first. This module gives the stand-in both
 * halves: `MessageGroupCapture` keeps the group on the message, `preferQuietTenants` orders a receive.
 */

/** A tenant is noisy with at least this many messages in flight… */
export const NOISY_MIN_IN_FLIGHT = 30;
/** …that are more than this share of the queue's in-flight messages (the documented concurrency-share rule). */
export const NOISY_MIN_SHARE = 0.1;
/** ReceiveMessage returns at most 10 messages. */
const MAX_RECEIVE = 10;

/** SQS's rule for `MessageGroupId`: 1–128 alphanumeric or punctuation characters (printable ASCII, no space). */
const MESSAGE_GROUP_ID = /^[!-~]{1,128}$/;

interface SendEntry {
  body: string;
  attributes: Record<string, FauxqsMessageAttribute> | undefined;
  groupId: string | undefined;
}

/** The answer the stand-in gives for a malformed `MessageGroupId`, in the SQS JSON protocol. */
export interface SqsRefusal {
  __type: string;
  message: string;
}

/**
 * Carries the `MessageGroupId`s of a SendMessage or SendMessageBatch on a standard queue to the messages fauxqs
 * creates from it. `capture` runs in a fastify `preHandler` hook; fauxqs's route handler runs synchronously after the
 * hook (a callback-style hook calls `done()` synchronously, and the SQS router calls the action before its first
 * await), and its send actions enqueue each accepted entry synchronously, in entry order. So the entries captured
 * are consumed by that request's own enqueues before any other request runs; each request's hook replaces them.
 * An entry fauxqs refuses (bad characters, too large) is never enqueued: `take` matches the next entry with the same
 * body and attributes, which are all that decide whether a standard-queue entry is refused.
 */
export class MessageGroupCapture {
  #queue: FauxqsQueue | undefined;
  #entries: SendEntry[] = [];
  #next = 0;

  /**
   * Reads the request's groups; returns a refusal when one is malformed (SQS answers `InvalidParameterValue`; for a
   * batch the stand-in refuses the whole request, where SQS may fail only that entry: stricter, never kinder).
   */
  capture(target: unknown, body: unknown, store: FauxqsSqsStore): SqsRefusal | undefined {
    this.#queue = undefined;
    this.#entries = [];
    this.#next = 0;
    if (typeof target !== "string" || typeof body !== "object" || body === null) return undefined;
    const request = body as Record<string, unknown>;
    let entries: unknown[];
    if (target === "AmazonSQS.SendMessage") entries = [request];
    else if (target === "AmazonSQS.SendMessageBatch" && Array.isArray(request.Entries)) entries = request.Entries;
    else return undefined;
    const queue = typeof request.QueueUrl === "string" ? store.queues.get(request.QueueUrl) : undefined;
    // FIFO queues keep their groups in fauxqs itself (and the durable stand-in refuses to create them).
    if (queue === undefined || queue.isFifo()) return undefined;
    const captured: SendEntry[] = [];
    for (const entry of entries) {
      const e = (entry ?? {}) as Record<string, unknown>;
      const groupId = e.MessageGroupId;
      if (groupId !== undefined && (typeof groupId !== "string" || !MESSAGE_GROUP_ID.test(groupId))) {
        return {
          __type: "com.amazonaws.sqs#InvalidParameterValue",
          message:
            "Value for parameter MessageGroupId is invalid. Reason: it must be 1 to 128 alphanumeric or punctuation characters.",
        };
      }
      captured.push({
        body: typeof e.MessageBody === "string" ? e.MessageBody : "",
        attributes: e.MessageAttributes as Record<string, FauxqsMessageAttribute> | undefined,
        groupId,
      });
    }
    this.#queue = queue;
    this.#entries = captured;
    return undefined;
  }

  /** The group sent with `message`, which fauxqs is enqueueing into `queue`; undefined when it had none. */
  take(queue: FauxqsQueue, message: FauxqsMessage): string | undefined {
    if (queue !== this.#queue) return undefined;
    for (let i = this.#next; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      // fauxqs keeps the entry's own MessageAttributes object on the message (or `{}` without one).
      const sameAttributes =
        entry.attributes === undefined
          ? Object.keys(message.messageAttributes).length === 0
          : entry.attributes === message.messageAttributes;
      if (entry.body === message.body && sameAttributes) {
        this.#next = i + 1;
        return entry.groupId;
      }
    }
    return undefined;
  }
}

/**
 * Orders `queue`'s visible messages so that the next receive of up to `maxCount` takes what SQS fair queues would
 * deliver: while a tenant is noisy, the visible messages of quiet tenants first (oldest first, as fauxqs serves
 * them); when no quiet tenant has one waiting, the noisy tenants' messages, the tenant with the fewest in flight
 * first (recounted after each message taken, which spreads a receive over noisy tenants of equal standing).
 *
 * Detection follows the documented concurrency-share rule, evaluated afresh at every receive from the queue's
 * in-flight messages: a tenant (a `MessageGroupId`; a message without one is a tenant of its own, so never noisy)
 * with at least 30 messages in flight that are more than 10 % of the queue's in-flight messages. Approximated, and
 * listed in docs/local-stack.md#fair-queues: SQS also flags a tenant by its share of consumer processing time, which
 * the stand-in does not measure; SQS's thresholds are themselves approximate; and SQS keeps a tenant noisy until its
 * backlog drains or it sends nothing for 5 minutes, while the stand-in lets it go as soon as its in-flight share
 * falls under the rule: a backlog is deprioritised for a shorter time here than in SQS. SQS does not throttle a noisy
 * tenant: with no quiet messages waiting it is served as usual, here too.
 *
 * Costs a pass over the in-flight messages per receive, and a pass over the visible ones only while a tenant is noisy.
 */
export function preferQuietTenants(queue: FauxqsQueue, maxCount: number): void {
  // What fauxqs's dequeue does first: expired visibility timeouts and ended delays become visible.
  queue.processTimers();
  const visible = queue.messages;
  if (visible.length === 0) return;
  const inFlight = new Map<string, number>();
  for (const { message } of queue.inflightMessages.values()) {
    const tenant = message.messageGroupId;
    if (tenant !== undefined) inFlight.set(tenant, (inFlight.get(tenant) ?? 0) + 1);
  }
  const total = queue.inflightMessages.size;
  const noisy = new Set<string>();
  for (const [tenant, count] of inFlight) {
    if (count >= NOISY_MIN_IN_FLIGHT && count > NOISY_MIN_SHARE * total) noisy.add(tenant);
  }
  if (noisy.size === 0) return;

  const count = Math.min(maxCount, MAX_RECEIVE);
  const picked: number[] = [];
  // Each noisy tenant's oldest visible messages (as many as one receive can take), in case quiet ones run short.
  const noisyWaiting = new Map<string, number[]>();
  for (let i = 0; i < visible.length && picked.length < count; i++) {
    const tenant = visible[i]!.messageGroupId;
    if (tenant === undefined || !noisy.has(tenant)) {
      picked.push(i);
      continue;
    }
    const waiting = noisyWaiting.get(tenant) ?? [];
    if (waiting.length === 0) noisyWaiting.set(tenant, waiting);
    if (waiting.length < count) waiting.push(i);
  }
  while (picked.length < count) {
    let next: string | undefined;
    for (const [tenant, waiting] of noisyWaiting) {
      if (waiting.length > 0 && (next === undefined || inFlight.get(tenant)! < inFlight.get(next)!)) next = tenant;
    }
    if (next === undefined) break;
    picked.push(noisyWaiting.get(next)!.shift()!);
    inFlight.set(next, inFlight.get(next)! + 1);
  }
  if (picked.every((index, position) => index === position)) return; // already at the front, in order
  const front = picked.map((i) => visible[i]!);
  for (const i of [...picked].sort((a, b) => b - a)) visible.splice(i, 1);
  visible.unshift(...front);
}
