import { DETAIL_TYPES, EVENT_SOURCE } from "../../domain/events/service-events.js";

/**
 * The bus rules' event patterns (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html),
 * one definition for the CDK stack and, through its template, the local bus.
 */
export const SERVICE_EVENTS_PATTERN = { source: [EVENT_SOURCE] } as const;

/** Every detail-type the service publishes (docs/events.md). */
export const SERVICE_DETAIL_TYPES: readonly string[] = Object.values(DETAIL_TYPES);

export { EVENT_SOURCE };
