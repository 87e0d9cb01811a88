import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetterSink } from "../../domain/ports.js";
import { sendAllInBatches } from "./batch-send.js";
import type { SqsQueueOptions } from "./sqs-send-queue.js";

/**
 * `DeadLetterSink` on the send DLQ: the original body, with the reason in the `failure_reason` attribute so an
 * operator sees why before redriving. (SQS's own redrive after maxReceiveCount carries no reason.)
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: SqsQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  put(body: string, reason: string): Promise<void> {
    return sendAllInBatches(
      this.#client,
      this.#queueUrl,
      [{ body, attributes: { failure_reason: reason.slice(0, 256) } }],
      {
        maxAttempts: 3,
        baseDelayMs: 50,
      },
    );
  }
}
