import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryEventBus } from "#shared/adapters/memory/memory-event-bus.js";
import type { RecordChange } from "#shared/domain/events/service-events.js";
import { createTableStreamHandler } from "#shared/edges/stream/table-stream-handler.js";
import { logger } from "#shared/observability/logger.js";

const record = (sequence: string): DynamoDBRecord => ({
  eventID: `e${sequence}`,
  eventName: "INSERT",
  eventSource: "aws:dynamodb",
  dynamodb: { SequenceNumber: sequence, Keys: { pk: { S: `COUPON#c${sequence}` } } },
});

async function issued(couponId: string) {
  const store = new MemoryCouponStore();
  const change = await store.recordIssued(
    {
      couponId,
      stockId: "9856000",
      mchid: "1900000001",
      outRequestNo: `req-${couponId}`,
      openid: "o1",
      appid: "wx1",
      sentAt: 0,
    },
    0,
  );
  return { kind: "coupon", after: change.record } satisfies RecordChange;
}

describe("events publisher (table stream handler)", () => {
  it("publishes the records before one it cannot read and reports that one as the batch's first failure", async () => {
    const bus = new MemoryEventBus();
    const changes = new Map<string, RecordChange>([
      ["100", await issued("c100")],
      ["300", await issued("c300")],
    ]);
    const handler = createTableStreamHandler({
      bus,
      changeOf: (images) => {
        const change = changes.get(images.SequenceNumber!);
        if (change === undefined) throw new Error("not a record this service writes");
        return change;
      },
      logger,
    });
    const response = await handler({ Records: [record("100"), record("200"), record("300")] });
    // The mapping retries from 200 (split there) without sending 100's event again; 300 comes with that retry.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "200" }] });
    expect(bus.events.map((e) => [e.detailType, (e.detail as { coupon_id?: string }).coupon_id])).toEqual([
      ["coupon.sent", "c100"],
    ]);
  });

  it("reports no failure when every record was published", async () => {
    const bus = new MemoryEventBus();
    const change = await issued("c1");
    const handler = createTableStreamHandler({ bus, changeOf: () => change, logger });
    expect(await handler({ Records: [record("1")] })).toEqual({ batchItemFailures: [] });
    expect(bus.events).toHaveLength(1);
  });
});
