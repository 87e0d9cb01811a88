import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { CouponEvent, NotificationInbox, NotificationRecord, RecordOnceResult } from "../../domain/ports.js";
import { notificationOrder } from "../record-rules.js";
import { putIfAbsent } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, str } from "./item.js";
import { GSI1, KEY, TTL_ATTRIBUTE } from "./table-definition.js";

export interface DynamoDbNotificationInboxOptions extends DynamoDbAdapterOptions {
  /**
   * How long a notification is kept (TTL `expires_at`), default 30 days: far beyond WeChat's retry horizon
   * (COUPON.USE is retried for ~10 minutes), so de-duplication holds, while the table does not grow forever.
   */
  retentionDays?: number;
}

/** `NotificationInbox` on the single table: item `NOTIFY#{id}`, in gsi1 under `COUPON#{coupon_id}`. */
export class DynamoDbNotificationInbox implements NotificationInbox {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number;

  constructor(options: DynamoDbNotificationInboxOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
    this.#retentionSeconds = Math.round((options.retentionDays ?? 30) * 86_400);
  }

  async recordOnce(event: CouponEvent): Promise<RecordOnceResult> {
    const pk = KEY.notification(event.id);
    const item: Item = {
      pk,
      type: "NOTIFY",
      id: event.id,
      event_type: event.eventType,
      coupon_id: event.couponId,
      stock_id: event.stockId,
      create_time: event.createTime,
      received_at: event.receivedAt,
      resource_json: JSON.stringify(event.resource),
      [TTL_ATTRIBUTE]: Math.floor(event.receivedAt / 1000) + this.#retentionSeconds,
      gsi1pk: KEY.couponNotifications(event.couponId),
      gsi1sk: notificationOrder(event),
    };
    // De-duplication and storage in ONE write: the first delivery stores the event, repeats see it.
    const put = await putIfAbsent(this.#doc, this.#table, item);
    if (put.created) return { firstTime: true, record: fromItem(item) };
    return { firstTime: false, record: fromItem(put.existing) };
  }

  async listByCoupon(couponId: string): Promise<NotificationRecord[]> {
    const records: NotificationRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: GSI1,
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": KEY.couponNotifications(couponId) },
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      records.push(...(page.Items ?? []).map(fromItem));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }
}

function fromItem(item: Item): NotificationRecord {
  return {
    id: str(item, "id"),
    eventType: str(item, "event_type"),
    couponId: str(item, "coupon_id"),
    stockId: str(item, "stock_id"),
    createTime: str(item, "create_time"),
    receivedAt: num(item, "received_at"),
    resource: JSON.parse(str(item, "resource_json") || "{}") as Record<string, unknown>,
  };
}
