import type { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { eventsForChange, type RecordChange, type ServiceEvent } from "../../domain/events/service-events.js";
import type { EventBus } from "../../domain/ports.js";

export interface TableStreamHandlerDependencies {
  bus: EventBus;
  /** Reads a stream record's images as a stored record's change (the composition root hands the table's reader). */
  changeOf: (images: NonNullable<DynamoDBStreamEvent["Records"][number]["dynamodb"]>) => RecordChange | undefined;
  logger: Logger;
}

/**
 * The outbox's consumer (docs/events.md#outbox): a batch of the table's stream records (already filtered by the
 * mapping) in, their events published to the bus. A record whose change cannot be read ends the batch there: the
 * events of the records before it are published and its sequence number is reported as the batch's first failure
 * (the mapping's `ReportBatchItemFailures`), so the mapping retries from it without sending the others again, and
 * after its retries hands its position to the on-failure queue. A failure to publish throws: the mapping retries the
 * batch, split in halves. A retried batch may publish some events twice, which consumers de-duplicate by
 * `detail.event_id`.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
export function createTableStreamHandler(deps: TableStreamHandlerDependencies) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const events: ServiceEvent[] = [];
    let failed: string | undefined;
    for (const record of event.Records) {
      try {
        const change = record.dynamodb === undefined ? undefined : deps.changeOf(record.dynamodb);
        if (change !== undefined) events.push(...eventsForChange(change));
      } catch (error) {
        // Only a record with a sequence number can be reported; without one the whole batch fails.
        const sequence = record.dynamodb?.SequenceNumber;
        if (sequence === undefined) throw error;
        deps.logger.error("stream record not readable", {
          sequenceNumber: sequence,
          reason: error instanceof Error ? error.message : String(error),
        });
        failed = sequence;
        break;
      }
    }
    if (events.length > 0) {
      await deps.bus.publish(events);
      deps.logger.info("events published", {
        records: event.Records.length,
        events: events.length,
        detailTypes: [...new Set(events.map((e) => e.detailType))],
      });
    }
    return { batchItemFailures: failed === undefined ? [] : [{ itemIdentifier: failed }] };
  };
}
