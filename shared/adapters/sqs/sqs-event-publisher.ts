import type { SQSClient } from "@aws-sdk/client-sqs";
import type { CouponEvent, EventPublisher } from "../../domain/ports.js";
import { type BatchSendOptions, sendAllInBatches } from "./batch-send.js";
import { encodeCouponEvent } from "./message-codec.js";
import type { SqsQueueOptions } from "./sqs-send-queue.js";

/** `EventPublisher` on the coupon-events queue (env `EVENTS_QUEUE_URL`): body `encodeCouponEvent`, attribute event_type. */
export class SqsEventPublisher implements EventPublisher {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #batch: BatchSendOptions;

  constructor(options: SqsQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#batch = { maxAttempts: options.maxAttempts ?? 3, baseDelayMs: options.baseDelayMs ?? 50 };
  }

  publish(event: CouponEvent): Promise<void> {
    // Through the batch path so a partial failure is retried the same way (a batch of one).
    return sendAllInBatches(
      this.#client,
      this.#queueUrl,
      [{ body: encodeCouponEvent(event), attributes: { event_type: event.eventType } }],
      this.#batch,
    );
  }
}
