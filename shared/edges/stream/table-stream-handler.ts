import type { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBStreamEvent } from "aws-lambda";
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
 * mapping) in, their events published to the bus. A failure to publish throws: the mapping retries the batch (split
 * in halves) until it succeeds, so an event whose change was recorded is never dropped; a retried batch may publish
 * some events twice, which consumers de-duplicate by `detail.event_id`.
 */
export function createTableStreamHandler(deps: TableStreamHandlerDependencies) {
  return async (event: DynamoDBStreamEvent): Promise<void> => {
    const events: ServiceEvent[] = [];
    for (const record of event.Records) {
      const change = record.dynamodb === undefined ? undefined : deps.changeOf(record.dynamodb);
      if (change !== undefined) events.push(...eventsForChange(change));
    }
    if (events.length === 0) return;
    await deps.bus.publish(events);
    deps.logger.info("events published", {
      records: event.Records.length,
      events: events.length,
      detailTypes: [...new Set(events.map((e) => e.detailType))],
    });
  };
}
