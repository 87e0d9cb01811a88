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

function outgoing(m: SendMessage): OutgoingMessage {
  return {
    body: encodeSendMessage(m),
    ...(m.campaignId === undefined ? {} : { attributes: { campaign_id: m.campaignId } }),
  };
}

/** `SendQueue` on SQS: bodies from `encodeSendMessage`, attribute `campaign_id` when set. */
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
