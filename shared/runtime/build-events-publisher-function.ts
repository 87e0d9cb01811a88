import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { recordChangeOf } from "../adapters/dynamodb/table-stream.js";
import { EventBridgeEventBus } from "../adapters/eventbridge/eventbridge-event-bus.js";
import type { EventsPublisherEnv } from "../config/env.js";
import { createTableStreamHandler } from "../edges/stream/table-stream-handler.js";
import { logger } from "../observability/logger.js";

/** Composition root of the events publisher: the table's stream in, the service's EventBridge bus out. */
export function buildEventsPublisherFunction(env: EventsPublisherEnv) {
  return createTableStreamHandler({
    bus: new EventBridgeEventBus({ client: new EventBridgeClient({}), eventBusName: env.EVENT_BUS_NAME }),
    // aws-lambda's stream image type and the SDK's AttributeValue describe the same DynamoDB JSON.
    changeOf: (images) =>
      recordChangeOf(
        images as { NewImage?: Record<string, AttributeValue>; OldImage?: Record<string, AttributeValue> },
      ),
    logger,
  });
}
