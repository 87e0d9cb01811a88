import { eventForwarderEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildEventForwarderFunction } from "#shared/runtime/build-event-forwarder-function.js";

/** Bus events → signed HTTP POSTs to the configured consumers (docs/events.md#signed-http-forwarding). */
export const handler = buildEventForwarderFunction(loadEnv(eventForwarderEnvSchema));
