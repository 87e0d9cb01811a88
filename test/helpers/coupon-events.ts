import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { LocalStack } from "#local/stack/start-local-stack.js";

/** An event as the bus rule delivers it to the coupon-events queue (docs/events.md, "Subscribing"). */
export type DeliveredEvent = {
  id: string;
  "detail-type": string;
  source: string;
  resources: string[];
  detail: Record<string, unknown>;
};

/**
 * Reads the coupon-events SQS queue (the bus rule's target) over the SQS protocol, keeping every event received, so
 * a test counts what a subscriber gets. `settled` waits until everything written so far has gone through the
 * table's stream, the publisher and the bus, then drains the queue.
 */
export function couponEventsReader(stack: () => LocalStack) {
  const received: DeliveredEvent[] = [];
  async function drain(): Promise<void> {
    const { sqs, queues } = stack().emulators;
    for (;;) {
      const page = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queues.events.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = page.Messages ?? [];
      if (messages.length === 0) return;
      for (const m of messages) received.push(JSON.parse(m.Body!) as DeliveredEvent);
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queues.events.url,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
    }
  }
  return {
    received,
    drain,
    ofType: (type: string, key?: [string, string]) =>
      received.filter((e) => e["detail-type"] === type && (key === undefined || e.detail[key[0]] === key[1])),
    async settled(): Promise<void> {
      await stack().events.stream!.drained();
      await stack().events.bus.drained();
      await drain();
    },
  };
}
