import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { coalesceByCampaign } from "../../domain/campaigns/batch-outcome-counter.js";
import { processSendBatch, type WorkerDependencies } from "../../domain/campaigns/process-send-batch.js";
import { reconcileCampaign } from "../../domain/campaigns/reconcile-campaign.js";
import type { DeadLetterSink, SendQueue } from "../../domain/ports.js";
import { flushMetrics, recordSendOutcomeOf } from "../../observability/metrics.js";

export interface SendWorkerHandlerDependencies extends WorkerDependencies {
  queue: SendQueue;
  deadLetters: DeadLetterSink;
  logger: Logger;
}

/**
 * The send worker: one SQS batch in, partial batch failures out. Retryable sends get a per-message back-off
 * (visibility change) before being reported; on a message's last receive before the redrive, a retry it is not to
 * blame for goes back as a fresh copy instead. Poison messages go to the DLQ with their reason and are acknowledged.
 * Store errors are per message; an error thrown past that (a bug) fails the whole batch, which SQS redelivers.
 */
export function createSendWorkerHandler(handlerDeps: SendWorkerHandlerDependencies) {
  // Concurrent batches of one campaign share one recount at a time instead of each recounting the whole ledger.
  const deps: SendWorkerHandlerDependencies = {
    ...handlerDeps,
    reconcile: coalesceByCampaign((campaignId) => reconcileCampaign(handlerDeps, campaignId)),
  };
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
    await Promise.all(
      result.recycled.map(async ({ messageId, message, delaySeconds, reason }) => {
        try {
          await deps.queue.requeue({ ...message, recycled: (message.recycled ?? 0) + 1 }, delaySeconds);
        } catch (error) {
          // Not re-enqueued: report it, and the redrive takes it to the DLQ rather than losing it.
          deps.logger.error("could not re-enqueue a send", { messageId, reason, error: error as Error });
          failed.add(messageId);
        }
      }),
    );
    // Held sends (paused or scheduled campaign): never sent. Invisible for a while, or re-enqueued as a fresh copy
    // after a few receives so that a long hold uses neither the receive budget nor the queue's retention.
    await Promise.all(
      result.held.map(async ({ messageId, message, delaySeconds, asCopy }) => {
        if (!asCopy) {
          failed.add(messageId);
          await deps.queue.delay(receipts.get(messageId)!, delaySeconds).catch(() => undefined);
          return;
        }
        try {
          await deps.queue.requeue({ ...message, held: (message.held ?? 0) + 1 }, delaySeconds);
        } catch (error) {
          deps.logger.error("could not re-enqueue a held send", { messageId, error: error as Error });
          failed.add(messageId);
        }
      }),
    );
    if (result.cancelled.length > 0) {
      deps.logger.info("sends of cancelled campaigns recorded CANCELLED", { count: result.cancelled.length });
    }
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
