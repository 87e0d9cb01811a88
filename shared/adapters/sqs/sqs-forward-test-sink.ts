import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { TEST_DETAIL_TYPE, type TestEventSink } from "../../domain/events/forwarding.js";
import { EVENT_SOURCE } from "../../domain/events/service-events.js";

/**
 * `TestEventSink` on the forwarder's queue (env `FORWARD_QUEUE_URL`): the message is the event as EventBridge would
 * deliver it (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html), so it takes the same
 * path as real events: signed, retried, dead-lettered. Not put on the bus: no other subscriber should see a test.
 */
export class SqsForwardTestSink implements TestEventSink {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #region: string;

  constructor(options: { client: SQSClient; queueUrl: string; region: string }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#region = options.region;
  }

  async send(test: { eventId: string; time: number; message: string }): Promise<void> {
    // The queue URL's path is /ACCOUNT/NAME.
    const account = new URL(this.#queueUrl).pathname.split("/").filter(Boolean).at(-2) ?? "";
    const event = {
      version: "0",
      id: test.eventId,
      "detail-type": TEST_DETAIL_TYPE,
      source: EVENT_SOURCE,
      account,
      time: new Date(test.time).toISOString().replace(/\.\d{3}Z$/, "Z"),
      region: this.#region,
      resources: [],
      detail: {
        event_id: test.eventId,
        schema_version: 1,
        occurred_at: new Date(test.time).toISOString(),
        message: test.message,
      },
    };
    await this.#client.send(new SendMessageCommand({ QueueUrl: this.#queueUrl, MessageBody: JSON.stringify(event) }));
  }
}
