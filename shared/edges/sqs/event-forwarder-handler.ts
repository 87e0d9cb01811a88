import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type ForwardingDependencies, forwardEvent, type PendingDelivery } from "../../domain/events/forwarding.js";

/** A retry of one endpoint's delivery, as the forwarder queues it (a first delivery is the bus's event itself). */
interface RetryMessage {
  wxcoupon_forward_retry: { endpoint: string; attempt: number; event_id: string };
  body: string;
}

export function encodeRetry(p: PendingDelivery): string {
  const message: RetryMessage = {
    wxcoupon_forward_retry: { endpoint: p.endpoint, attempt: p.attempt, event_id: p.eventId },
    body: p.body,
  };
  return JSON.stringify(message);
}

/**
 * The event forwarder (docs/events.md#signed-http-forwarding): a batch of its queue's messages in (bus events from the
 * forwarding rule, or retries it queued itself), each delivered, retried or dead-lettered per endpoint; a message is
 * reported failed only when its retry or dead-letter record could not be written, so SQS redelivers it.
 */
export function createEventForwarderHandler(deps: ForwardingDependencies & { logger: Logger }) {
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: { itemIdentifier: string }[] = [];
    await Promise.all(
      event.Records.map(async (record) => {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(record.body) as Record<string, unknown>;
        } catch {
          deps.logger.error("forward: a message that is not JSON was dropped", { messageId: record.messageId });
          return;
        }
        const retry = (parsed as Partial<RetryMessage>).wxcoupon_forward_retry;
        try {
          const results =
            retry !== undefined
              ? await forwardEvent(deps, {
                  kind: "retry",
                  pending: {
                    endpoint: retry.endpoint,
                    attempt: retry.attempt,
                    eventId: retry.event_id,
                    body: String((parsed as Partial<RetryMessage>).body),
                  },
                })
              : await forwardEvent(deps, {
                  kind: "first",
                  body: record.body,
                  eventId: String((parsed.detail as Record<string, unknown> | undefined)?.event_id ?? parsed.id),
                });
          const failed = results.filter((r) => !r.ok);
          if (failed.length > 0) {
            deps.logger.warn("forward: delivery failed, retried later or dead-lettered", {
              messageId: record.messageId,
              failures: failed.map((f) => f.status ?? f.error),
            });
          }
        } catch (error) {
          deps.logger.error("forward: could not queue a retry or dead-letter record", {
            messageId: record.messageId,
            error: error as Error,
          });
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    return { batchItemFailures: failures };
  };
}
