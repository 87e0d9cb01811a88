import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetterSink } from "../../domain/ports.js";
import { sendAllInBatches } from "./batch-send.js";
import { parseSendMessage } from "./message-codec.js";
import { type SqsQueueOptions, sendMessageGroup } from "./sqs-send-queue.js";

/**
 * `DeadLetterSink` on the send DLQ: the original body, with the reason in the `failure_reason` attribute so an
 * operator sees why before redriving. (SQS's own redrive after maxReceiveCount carries no reason.) A body that parses
 * keeps its send's `MessageGroupId`, as a message moved by the redrive policy does; a malformed one has no tenant.
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
      [{ body, attributes: { failure_reason: reason.slice(0, 256) }, ...groupOf(body) }],
      {
        maxAttempts: 3,
        baseDelayMs: 50,
      },
    );
  }
}

/** SQS's rule for a `MessageGroupId`: 1–128 alphanumeric or punctuation characters (printable ASCII, no space). */
const MESSAGE_GROUP_ID = /^[!-~]{1,128}$/;

/** The poison body's tenant if it is a send whose group SQS accepts; a body put in the DLQ must not be refused. */
function groupOf(body: string): { groupId?: string } {
  let groupId: string;
  try {
    groupId = sendMessageGroup(parseSendMessage(body));
  } catch {
    return {};
  }
  return MESSAGE_GROUP_ID.test(groupId) ? { groupId } : {};
}
