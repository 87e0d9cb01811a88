import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../domain/errors.js";
import type { ListPage, NewSendRecord, SendLedger, SendRecord, StateChange } from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { cancelledSendRecord, newKeyedRecord, SEND_KIND } from "../record-rules.js";
import { and, batchWriteAll, CONDITION, conditionalUpdate, putIfAbsent } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { baseItem, baseRecord, DynamoDbKeyedLedger, type KeyedItemCodec } from "./dynamodb-keyed-ledger.js";
import { type Item, optionalStrings, str } from "./item.js";
import { GSI1, KEY } from "./table-definition.js";

/** Writes in flight at once while a chunk's recipients are prepared. */
const PREPARE_CONCURRENCY = 16;
/** Items per BatchWriteItem call (DynamoDB's limit). */
const BATCH_WRITE_LIMIT = 25;

/** Tries of one prepare write (a batch, or a replay's conditional put) before the request fails. */
const PREPARE_WRITE_TRIES = 4;

/**
 * A chunk of up to MAX_CAMPAIGN_RECIPIENTS recipients is hundreds of writes (a replay: one conditional put each), so
 * a store failing a few percent of writes fails nearly every request once the SDK's client-wide retry quota has run
 * out (seen in the reliability suite: a replayed POST /campaigns never got through under 5 % write failures). Each
 * write is idempotent, so it is tried again here, with a short jittered pause, before the request gives up.
 */
async function withWriteRetries(write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= PREPARE_WRITE_TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.floor(Math.random() * 100)));
    }
  }
}

/** `SendLedger` on the single table: item `SEND#{mchid}#{out_request_no}`, in gsi1 under its campaign. */
export class DynamoDbSendLedger
  extends DynamoDbKeyedLedger<SendRecord, NewSendRecord, { couponId: string }>
  implements SendLedger
{
  constructor(options: DynamoDbAdapterOptions) {
    super(options, SEND_KIND, SEND_ITEMS);
  }

  async listByCampaign(
    campaignId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<ListPage<SendRecord>> {
    const limit = options.limit ?? 100;
    const gsi1pk = KEY.campaignSends(campaignId);
    const start = options.cursor === undefined ? undefined : startKey(options.cursor, gsi1pk);
    // Ask for one more than the page so the cursor is only returned when another item really follows.
    const { Items = [], LastEvaluatedKey } = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": gsi1pk },
        Limit: limit + 1,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = Items.slice(0, limit);
    const last = items.at(-1);
    const records = items.map(SEND_ITEMS.fromItem);
    // A page cut short by DynamoDB's 1 MB limit still has a next page (LastEvaluatedKey).
    if ((Items.length <= limit && LastEvaluatedKey === undefined) || last === undefined) return { items: records };
    return { items: records, cursor: encodeCursor({ pk: str(last, "pk"), gsi1pk, gsi1sk: str(last, "gsi1sk") }) };
  }

  async prepare(records: readonly NewSendRecord[], options: { fresh?: boolean } = {}): Promise<void> {
    const items = records.map((r) => SEND_ITEMS.toItem(newKeyedRecord<SendRecord, NewSendRecord>(r)));
    // Fresh: BatchWriteItem, 25 items a call (its limit), unconditional. Otherwise one conditional put per record, so
    // a replay never writes over a send already claimed or final. PREPARE_CONCURRENCY calls in flight either way.
    const units = options.fresh
      ? Array.from({ length: Math.ceil(items.length / BATCH_WRITE_LIMIT) }, (_, i) =>
          items.slice(i * BATCH_WRITE_LIMIT, (i + 1) * BATCH_WRITE_LIMIT),
        )
      : items.map((item) => [item]);
    let next = 0;
    const writer = async () => {
      while (next < units.length) {
        const unit = units[next++]!;
        await withWriteRetries(() =>
          options.fresh
            ? batchWriteAll(this.doc, this.table, unit)
            : putIfAbsent(this.doc, this.table, unit[0]!, { readBack: false }).then(() => undefined),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREPARE_CONCURRENCY, units.length) }, writer));
  }

  async cancel(record: NewSendRecord, now: number): Promise<StateChange<SendRecord>> {
    const item = SEND_ITEMS.toItem(cancelledSendRecord(record, now));
    const attributes = Object.entries(item).filter(
      ([name, value]) => name !== "pk" && name !== "attempts" && value !== undefined,
    );
    // An upsert: no record yet, or a PENDING one for which WeChat certainly issued nothing (`certainlyNotIssued`:
    // lease free, not uncertain). A send that may have reached WeChat keeps its record. Its attempts are kept.
    const update = await conditionalUpdate(this.doc, this.table, str(item, "pk"), {
      UpdateExpression: `SET ${attributes.map((_, i) => `#a${i} = :a${i}`).join(", ")}, #attempts = if_not_exists(#attempts, :zero)`,
      ConditionExpression:
        `attribute_not_exists(pk) OR (${and(CONDITION.pending, "#lease_until = :zero")} AND ` +
        "(attribute_not_exists(#uncertain) OR #uncertain <> :true))",
      ExpressionAttributeNames: {
        ...Object.fromEntries(attributes.map(([name], i) => [`#a${i}`, name])),
        "#state": "state",
        "#attempts": "attempts",
        "#lease_until": "lease_until",
        "#uncertain": "uncertain",
      },
      ExpressionAttributeValues: {
        ...Object.fromEntries(attributes.map(([, value], i) => [`:a${i}`, value])),
        ":pending": "PENDING",
        ":zero": 0,
        ":true": true,
      },
    });
    if (update.changed) return { changed: true, record: SEND_ITEMS.fromItem(update.item) };
    if (update.existing === undefined) throw new Error(`send record ${record.outRequestNo} vanished during a cancel`);
    return { changed: false, record: SEND_ITEMS.fromItem(update.existing) };
  }
}

/** The index position a cursor of this campaign's list holds: a send item's keys, in this campaign. */
function startKey(cursor: string, gsi1pk: string): Record<string, string> {
  const position = decodeCursor(cursor, ["pk", "gsi1pk", "gsi1sk"], { gsi1pk });
  if (!position.pk.startsWith("SEND#") || !position.pk.endsWith(`#${position.gsi1sk}`)) {
    throw new ValidationError("cursor", "is not a cursor this list returned");
  }
  return position;
}

/** How a send record sits in the table (also used by benchmarks that write records straight into it). */
export const SEND_ITEMS: KeyedItemCodec<SendRecord, { couponId: string }> = {
  pk: (key) => KEY.send(key.mchid, key.outRequestNo),
  toItem: (r) => ({
    ...baseItem(KEY.send(r.mchid, r.outRequestNo), "SEND", r),
    stock_id: r.stockId,
    openid: r.openid,
    appid: r.appid,
    campaign_id: r.campaignId,
    coupon_id: r.couponId,
    // Sends of a campaign are listed through gsi1 (reconciliation); others stay out of the index.
    ...(r.campaignId === undefined ? {} : { gsi1pk: KEY.campaignSends(r.campaignId), gsi1sk: r.outRequestNo }),
  }),
  fromItem: (item: Item): SendRecord => ({
    ...baseRecord<"SENT" | "CANCELLED">(item),
    stockId: str(item, "stock_id"),
    openid: str(item, "openid"),
    appid: str(item, "appid"),
    ...optionalStrings(item, { campaignId: "campaign_id", couponId: "coupon_id" }),
  }),
  successAttributes: ({ couponId }) => ({ coupon_id: couponId }),
};
