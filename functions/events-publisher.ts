import { eventsPublisherEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildEventsPublisherFunction } from "#shared/runtime/build-events-publisher-function.js";

/** The table's stream → the service's EventBridge bus (docs/events.md#outbox). */
export const handler = buildEventsPublisherFunction(loadEnv(eventsPublisherEnvSchema));
