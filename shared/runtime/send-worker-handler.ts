import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { processSendBatch, type WorkerDependencies } from "../domain/campaigns/process-send-batch.js";
import type { DeadLetterSink, SendQueue } from "../domain/ports.js";
import { flushMetrics, recordSendOutcomeOf } from "../observability/metrics.js";

export interface SendWorkerHandlerDependencies extends WorkerDependencies {
  queue: SendQueue;
  deadLetters: DeadLetterSink;
  logger: Logger;
}

/**
 * The send worker: one SQS batch in, partial batch failures out. Retryable sends get a per-message back-off
 * (visibility change) before being reported; poison messages go to the DLQ with their reason and are acknowledged.
 * A thrown error (e.g. the table is unreachable) fails the whole batch, which SQS redelivers.
 */
export function createSendWorkerHandler(deps: SendWorkerHandlerDependencies) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const receipts = new Map(event.Records.map((r) => [r.messageId, r.receiptHandle]));
    const result = await processSendBatch(
      deps,
      event.Records.map((r) => ({
        messageId: r.messageId,
        body: r.body,
        receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1),
      })),
    );
    const failed = new Set<string>();
    for (const poison of result.poison) {
      try {
        await deps.deadLetters.put(poison.body, poison.reason);
        deps.logger.warn("poison message moved to the DLQ", { messageId: poison.messageId, reason: poison.reason });
      } catch (error) {
        deps.logger.error("could not move a poison message to the DLQ", {
          messageId: poison.messageId,
          error: error as Error,
        });
        failed.add(poison.messageId);
      }
    }
    await Promise.all(
      result.failures.map(async (failure) => {
        failed.add(failure.messageId);
        // Best effort: without it the message simply returns after the queue's visibility timeout.
        await deps.queue.delay(receipts.get(failure.messageId)!, failure.delaySeconds).catch(() => undefined);
      }),
    );
    for (const { message, outcome } of result.outcomes) {
      recordSendOutcomeOf(outcome);
      if (outcome.status === "FAILED" && !outcome.replayed) {
        deps.logger.info("send failed", {
          outRequestNo: message.outRequestNo,
          campaignId: message.campaignId,
          code: outcome.code,
        });
      }
    }
    flushMetrics();
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
