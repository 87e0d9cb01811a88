import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { RecordChange } from "../../domain/events/service-events.js";
import { campaignFromItem } from "./dynamodb-campaign-store.js";
import { couponFromItem } from "./dynamodb-coupon-store.js";
import { reconciliationFromItem } from "./dynamodb-reconciliation-store.js";

/**
 * What the table's stream carries: both images, so a consumer sees the transition (state before and after) without
 * reading the table (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
 */
export const TABLE_STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES";

/**
 * The event source mapping's filters (event-pattern syntax on the stream record,
 * https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html): only the changes that carry an event reach
 * the publisher (shared/domain/events/service-events.ts `eventsForChange`, which decides exactly); everything else
 * the table writes (sends, rate counters, notifications, counting leases) is dropped by Lambda, unbilled. Five
 * filters: Lambda's default quota per mapping. A record matching several is delivered once.
 */
export const EVENT_CHANGE_FILTERS: readonly Record<string, unknown>[] = [
  // coupon.sent: the coupon got its send (out_request_no absent before: also a new item, which has no old image).
  {
    dynamodb: {
      NewImage: { type: { S: ["COUPON"] }, out_request_no: { S: [{ exists: true }] } },
      OldImage: { out_request_no: [{ exists: false }] },
    },
  },
  // coupon.used: USED now and not before. A new item (COUPON.USE came before the send's record) has no old image, so
  // its `state` is absent there: `exists: false` in the same list (a list of matchers matches if any does).
  {
    dynamodb: {
      NewImage: { type: { S: ["COUPON"] }, state: { S: ["USED"] } },
      OldImage: { state: { S: [{ "anything-but": ["USED"] }, { exists: false }] } },
    },
  },
  // coupon.refunded and coupon.expired, in one filter (five is the quota): REFUNDED or EXPIRED now, neither before.
  // No coupon moves between the two (a refund needs a USED coupon, an expiry a SENT one), so this passes exactly the
  // records that became one of them.
  {
    dynamodb: {
      NewImage: { type: { S: ["COUPON"] }, state: { S: ["REFUNDED", "EXPIRED"] } },
      OldImage: { state: { S: [{ "anything-but": ["REFUNDED", "EXPIRED"] }] } },
    },
  },
  // campaign.completed: the counters became exact and final (state COMPLETED, shared/domain/ports.ts).
  {
    dynamodb: {
      NewImage: { type: { S: ["CAMPAIGN"] }, reconciled: { BOOL: [true] } },
      OldImage: { reconciled: { BOOL: [false] } },
    },
  },
  // reconciliation.completed: a run became COMPLETED (dynamodb-reconciliation-store.ts `finish`).
  {
    dynamodb: {
      NewImage: { type: { S: ["RECONCILIATION"] }, status: { S: ["COMPLETED"] } },
      OldImage: { status: { S: [{ "anything-but": ["COMPLETED"] }] } },
    },
  },
];

type Image = Record<string, AttributeValue>;

/** The record change a stream record describes, or undefined for items that carry no event. */
export function recordChangeOf(images: { NewImage?: Image; OldImage?: Image }): RecordChange | undefined {
  const after = images.NewImage === undefined ? undefined : unmarshall(images.NewImage);
  const before = images.OldImage === undefined ? undefined : unmarshall(images.OldImage);
  const type = String((after ?? before)?.type ?? "");
  if (type === "COUPON") {
    return {
      kind: "coupon",
      ...(before === undefined ? {} : { before: couponFromItem(before) }),
      ...(after === undefined ? {} : { after: couponFromItem(after) }),
    };
  }
  if (type === "CAMPAIGN") {
    return {
      kind: "campaign",
      ...(before === undefined ? {} : { before: campaignFromItem(before) }),
      ...(after === undefined ? {} : { after: campaignFromItem(after) }),
    };
  }
  if (type === "RECONCILIATION") {
    return {
      kind: "reconciliation",
      ...(before === undefined ? {} : { before: reconciliationFromItem(before) }),
      ...(after === undefined ? {} : { after: reconciliationFromItem(after) }),
    };
  }
  return undefined;
}
