import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ConflictError, NotFoundError } from "../../domain/errors.js";
import type {
  ClaimResult,
  ErrorInfo,
  FinalOptions,
  LeaseResult,
  ListPage,
  NewSendRecord,
  SendKey,
  SendLedger,
  SendRecord,
  SendState,
  StateChange,
} from "../../domain/ports.js";
import { newSendRecord } from "../record-rules.js";
import { CONDITION, getItem, type Item, isConditionalCheckFailed, putIfAbsent } from "./conditional.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  acquireLeaseItem,
  failLeasedItem,
  num,
  optionalString,
  releaseLeaseItem,
  str,
  succeedLeasedItem,
} from "./leased-item.js";
import { GSI1, KEY } from "./table-definition.js";

export interface DynamoDbAdapterOptions {
  /** From `createDocumentClient()`. */
  doc: DynamoDBDocumentClient;
  /** env `TABLE_NAME`. */
  tableName: string;
}

/** `SendLedger` on the single table: item `SEND#{mchid}#{out_request_no}`, in gsi1 under its campaign. */
export class DynamoDbSendLedger implements SendLedger {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async claim(input: NewSendRecord, options: { leaseMs?: number } = {}): Promise<ClaimResult<SendRecord>> {
    const record = newSendRecord(input, options.leaseMs);
    // The uniqueness of (mchid, out_request_no): the first request wins, every other one replays it.
    const put = await putIfAbsent(this.#doc, this.#table, toItem(record));
    return put.created ? { created: true, record } : { created: false, record: fromItem(put.existing) };
  }

  acquireLease(key: SendKey, now: number, leaseMs: number): Promise<LeaseResult<SendRecord>> {
    return acquireLeaseItem(this.#doc, this.#table, pkOf(key), now, leaseMs, fromItem);
  }

  async markSent(
    key: SendKey,
    couponId: string,
    now: number,
    options: FinalOptions = {},
  ): Promise<StateChange<SendRecord>> {
    const fields = { coupon_id: couponId, ...countedField(options) };
    const update = await succeedLeasedItem(this.#doc, this.#table, pkOf(key), "SENT", fields, now);
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    const record = fromItem(mustExist(update.existing));
    // A repeat of the same success is answered from the stored item.
    if (record.couponId === couponId) return { changed: false, record };
    throw new ConflictError("COUPON_ID_MISMATCH", "coupon_id", "the send is already recorded with another coupon_id");
  }

  async markFailed(
    key: SendKey,
    error: ErrorInfo,
    now: number,
    options: FinalOptions = {},
  ): Promise<StateChange<SendRecord>> {
    const update = await failLeasedItem(this.#doc, this.#table, pkOf(key), error, now, countedField(options));
    return update.changed
      ? { changed: true, record: fromItem(update.item) }
      : { changed: false, record: fromItem(mustExist(update.existing)) };
  }

  release(key: SendKey, leaseUntil: number, now: number, lastError?: ErrorInfo): Promise<boolean> {
    return releaseLeaseItem(this.#doc, this.#table, pkOf(key), leaseUntil, now, lastError);
  }

  async markCounted(key: SendKey, now: number): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pkOf(key) },
          UpdateExpression: "SET #counted = :true, #updated_at = :now",
          ConditionExpression: CONDITION.exists,
          ExpressionAttributeNames: { "#counted": "counted", "#updated_at": "updated_at" },
          ExpressionAttributeValues: { ":true": true, ":now": now },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error))
        throw new NotFoundError("out_request_no", "no send record for this out_request_no");
      throw error;
    }
  }

  async get(key: SendKey): Promise<SendRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, pkOf(key));
    return item === undefined ? undefined : fromItem(item);
  }

  async listByCampaign(
    campaignId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<ListPage<SendRecord>> {
    const limit = options.limit ?? 100;
    // Ask for one more than the page so the cursor is only returned when another item really follows.
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": KEY.campaignSends(campaignId) },
        Limit: limit + 1,
        ...(options.cursor === undefined ? {} : { ExclusiveStartKey: decodeCursor(options.cursor) }),
      }),
    );
    const items = Items.slice(0, limit);
    const last = items.at(-1);
    if (Items.length <= limit || last === undefined) return { items: items.map(fromItem) };
    return {
      items: items.map(fromItem),
      cursor: encodeCursor({ pk: last.pk, gsi1pk: last.gsi1pk, gsi1sk: last.gsi1sk }),
    };
  }
}

/** Set `counted` in the write that makes the record final, when the campaign counted it just before. */
const countedField = (options: FinalOptions) => (options.counted ? { counted: true } : {});

function mustExist(item: Item | undefined): Item {
  if (item === undefined) throw new NotFoundError("out_request_no", "no send record for this out_request_no");
  return item;
}

const pkOf = (key: SendKey): string => KEY.send(key.mchid, key.outRequestNo);

function toItem(r: SendRecord): Item {
  return {
    pk: KEY.send(r.mchid, r.outRequestNo),
    type: "SEND",
    mchid: r.mchid,
    out_request_no: r.outRequestNo,
    request_hash: r.requestHash,
    stock_id: r.stockId,
    openid: r.openid,
    appid: r.appid,
    campaign_id: r.campaignId,
    state: r.state,
    coupon_id: r.couponId,
    error_code: r.errorCode,
    error_message: r.errorMessage,
    attempts: r.attempts,
    lease_until: r.leaseUntil,
    counted: r.counted,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    // Sends of a campaign are listed through gsi1 (reconciliation); others stay out of the index.
    ...(r.campaignId === undefined ? {} : { gsi1pk: KEY.campaignSends(r.campaignId), gsi1sk: r.outRequestNo }),
  };
}

function fromItem(item: Item): SendRecord {
  const record: SendRecord = {
    mchid: str(item, "mchid"),
    outRequestNo: str(item, "out_request_no"),
    requestHash: str(item, "request_hash"),
    stockId: str(item, "stock_id"),
    openid: str(item, "openid"),
    appid: str(item, "appid"),
    state: str(item, "state") as SendState,
    attempts: num(item, "attempts"),
    leaseUntil: num(item, "lease_until"),
    counted: item.counted === true,
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
  const campaignId = optionalString(item, "campaign_id");
  if (campaignId !== undefined) record.campaignId = campaignId;
  const couponId = optionalString(item, "coupon_id");
  if (couponId !== undefined) record.couponId = couponId;
  const errorCode = optionalString(item, "error_code");
  if (errorCode !== undefined) record.errorCode = errorCode;
  const errorMessage = optionalString(item, "error_message");
  if (errorMessage !== undefined) record.errorMessage = errorMessage;
  return record;
}
