import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { httpPoster } from "../adapters/http/https-poster.js";
import { signingSecretSource } from "../adapters/secrets/signing-secret-source.js";
import { createSqsClient } from "../adapters/sqs/sqs-client.js";
import type { EventForwarderEnv } from "../config/env.js";
import { createEventForwarderHandler, encodeRetry } from "../edges/sqs/event-forwarder-handler.js";
import { logger } from "../observability/logger.js";

/** Composition root of the event forwarder: its queue in, signed POSTs out, retries and dead letters on SQS. */
export function buildEventForwarderFunction(env: EventForwarderEnv) {
  const sqs = createSqsClient();
  return createEventForwarderHandler({
    endpoints: env.FORWARD_URLS,
    signingSecret: signingSecretSource({
      client: new SecretsManagerClient({}),
      secretId: env.FORWARD_SECRET_ID,
      maxAgeSeconds: env.SECRET_CACHE_SECONDS,
    }),
    post: httpPoster(env.FORWARD_TIMEOUT_MS),
    retryDelaysSeconds: env.FORWARD_RETRY_DELAYS_SECONDS,
    retryLater: async (pending, delaySeconds) => {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: env.FORWARD_QUEUE_URL,
          MessageBody: encodeRetry(pending),
          DelaySeconds: delaySeconds,
        }),
      );
    },
    deadLetter: async (pending, last) => {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: env.FORWARD_DLQ_URL,
          MessageBody: JSON.stringify({
            endpoint: pending.endpoint,
            attempts: pending.attempt,
            event_id: pending.eventId,
            last_status: last.status ?? null,
            last_error: last.error ?? null,
            event: pending.body,
          }),
        }),
      );
    },
    nowSeconds: () => Math.floor(Date.now() / 1000),
    logger,
  });
}
