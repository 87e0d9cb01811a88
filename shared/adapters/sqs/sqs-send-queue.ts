import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SendMessage, SendQueue } from "../../domain/ports.js";
import { clampVisibility } from "../record-rules.js";
import { type BatchSendOptions, type OutgoingMessage, sendAllInBatches } from "./batch-send.js";
import { encodeSendMessage } from "./message-codec.js";

export interface SqsQueueOptions extends BatchSendOptions {
  /** From `createSqsClient()`. */
  client: SQSClient;
  /** env `SEND_QUEUE_URL` (or `EVENTS_QUEUE_URL` for the publisher). */
  queueUrl: string;
}

/** SQS's ceiling for DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

/**
 * The tenant of a send for SQS fair queues (`MessageGroupId` on the standard send queue): its campaign, so that a
 * campaign with a backlog is the noisy neighbour and a small campaign's sends are delivered ahead of that backlog
 * (docs/aws-notes.md#fair-queues). A send of no campaign belongs to its merchant (`merchant:` cannot collide with a
 * campaign id, which has no colon: CAMPAIGN_ID_PATTERN). Every copy of a send (re-enqueued, held, dead-lettered) keeps
 * it, because it is derived from the body.
 */
export function sendMessageGroup(m: SendMessage): string {
  return m.campaignId ?? `merchant:${m.mchid}`;
}

function outgoing(m: SendMessage): OutgoingMessage {
  return {
    body: encodeSendMessage(m),
    groupId: sendMessageGroup(m),
    ...(m.campaignId === undefined ? {} : { attributes: { campaign_id: m.campaignId } }),
  };
}

/** `SendQueue` on SQS: bodies from `encodeSendMessage`, `MessageGroupId` its tenant, attribute `campaign_id` when set. */
export class SqsSendQueue implements SendQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #batch: BatchSendOptions;

  constructor(options: SqsQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#batch = {
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
    };
  }

  enqueue(messages: SendMessage[]): Promise<void> {
    return sendAllInBatches(this.#client, this.#queueUrl, messages.map(outgoing), this.#batch);
  }

  requeue(message: SendMessage, delaySeconds: number): Promise<void> {
    const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(delaySeconds)));
    return sendAllInBatches(this.#client, this.#queueUrl, [{ ...outgoing(message), delaySeconds: delay }], this.#batch);
  }

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    await this.#client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.#queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: clampVisibility(seconds),
      }),
    );
  }
}
