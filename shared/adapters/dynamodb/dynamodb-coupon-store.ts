import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  countable,
  dayOf,
  expiryEntry,
  firstUseAmount,
  hasEntry,
  issueEntry,
  refundEntry,
  useEntry,
} from "../../domain/coupons/coupon-state.js";
import { timeToUseBucket } from "../../domain/coupons/time-to-use.js";
import { ConflictError, NotFoundError, ValidationError } from "../../domain/errors.js";
import type {
  CampaignUseTotals,
  CountUseResult,
  CouponExpiry,
  CouponHistoryEntry,
  CouponIssue,
  CouponListOptions,
  CouponRecord,
  CouponRefund,
  CouponStore,
  CouponUse,
  ListPage,
  StateChange,
  StoredCouponState,
} from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import {
  checkCursorInRange,
  couponListOrder,
  couponListOwner,
  couponListRange,
  couponReissued,
  emptyUseTotals,
} from "../record-rules.js";
import { conditionalUpdate, getItem, isConditionalCheckFailed } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, optionalStrings, str } from "./item.js";
import { GSI1, GSI2, KEY } from "./table-definition.js";

/** Stocks one container remembers having registered for reconciliation; beyond it the oldest is registered again. */
const MAX_REMEMBERED_STOCKS = 1_000;
/** BatchGetItem's limit (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html). */
const BATCH_GET_MAX = 100;
/** Rounds of BatchGetItem for keys DynamoDB left unprocessed (throttling) before giving up. */
const BATCH_GET_ROUNDS = 8;

/** Attempts of an optimistic second write (another use or a refund) that lost a race to a concurrent one. */
const MAX_ATTEMPTS = 5;

/**
 * `CouponStore` on the single table, single-item conditional writes only (dynalite, which the local stack runs, has no
 * transactions: docs/local-stack.md#dynalite):
 * - `COUPON#{coupon_id}`: the coupon's one record (state, history); gsi1 `CAMPAIGN#{id}#COUPONS` sorted by
 *   `couponListOrder` when a campaign send issued it;
 *   gsi2 `STOCK#{stock_id}#COUPONS` (keys only, sorted by coupon id) once this service issued it;
 * - `CAMPAIGN#{id}#USES`: the campaign's use totals (counters, `day#YYYY-MM-DD` and `ttu#{bucket}` attributes).
 *
 * Counting a use exactly once without a transaction (`countUse`): (1) a lease on the coupon (`count_lease`, only while
 * not `counted`) makes one caller the counter at a time; (2) that caller ADDs to the totals and, in the same write,
 * puts the coupon id in the totals' `counting` set, conditional on it not being there, so a caller that died after
 * this write is not counted twice by the next one; (3) marks the coupon `counted`; (4) removes the id from `counting`.
 * The set holds only coupons between (2) and (4): it stays small.
 */
export class DynamoDbCouponStore implements CouponStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #registeredStocks = new Set<string>();

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async recordIssued(issue: CouponIssue, now: number): Promise<StateChange<CouponRecord>> {
    await this.#registerStock(issue.stockId, now);
    const campaign = issue.campaignId;
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.coupon(issue.couponId), {
      UpdateExpression: [
        "SET #type = :type, coupon_id = :coupon_id, stock_id = if_not_exists(stock_id, :stock_id)",
        "#state = if_not_exists(#state, :sent), issued_by_service = :true, mchid = :mchid",
        "out_request_no = :out_request_no, openid = :openid, appid = :appid, sent_at = :sent_at",
        "history = list_append(if_not_exists(history, :empty), :entry)",
        "transaction_ids = if_not_exists(transaction_ids, :empty), counted = if_not_exists(counted, :false)",
        "created_at = if_not_exists(created_at, :now), updated_at = :now, gsi2pk = :gsi2pk, gsi2sk = :coupon_id",
        ...(campaign === undefined
          ? []
          : ["campaign_id = :campaign_id, gsi1pk = :gsi1pk, gsi1sk = if_not_exists(gsi1sk, :gsi1sk)"]),
      ].join(", "),
      // Issued once: a use recorded first left out_request_no unset, and this completes that record.
      ConditionExpression: "attribute_not_exists(out_request_no)",
      ExpressionAttributeNames: { "#type": "type", "#state": "state" },
      ExpressionAttributeValues: {
        ":type": "COUPON",
        ":coupon_id": issue.couponId,
        ":stock_id": issue.stockId,
        ":sent": "SENT",
        ":true": true,
        ":false": false,
        ":mchid": issue.mchid,
        ":out_request_no": issue.outRequestNo,
        ":openid": issue.openid,
        ":appid": issue.appid,
        ":sent_at": issue.sentAt,
        ":empty": [],
        ":entry": [issueEntry(issue)],
        ":now": now,
        ":gsi2pk": KEY.stockCoupons(issue.stockId),
        ...(campaign === undefined
          ? {}
          : {
              ":campaign_id": campaign,
              ":gsi1pk": couponListOwner(campaign),
              ":gsi1sk": couponListOrder({ state: "SENT", couponId: issue.couponId, sentAt: issue.sentAt }),
            }),
      },
    });
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    const existing = fromItem(mustExist(update.existing, issue.couponId));
    if (existing.outRequestNo !== issue.outRequestNo || existing.mchid !== issue.mchid) throw couponReissued();
    return { changed: false, record: existing };
  }

  /**
   * `STOCK#{stock_id}`: a stock this service issued coupons of, pending in gsi1 `RECONCILE#PENDING` until the
   * reconciliation job has compared its flow files (shared/domain/reconciliation/reconciliation-job.ts). Written
   * before the first coupon of the stock is recorded (so no issued coupon's stock is missed), once per stock and
   * container: a conditional put that fails once the stock is known.
   */
  async #registerStock(stockId: string, now: number): Promise<void> {
    if (this.#registeredStocks.has(stockId)) return;
    await conditionalUpdate(this.#doc, this.#table, KEY.reconcileStock(stockId), {
      UpdateExpression:
        "SET #type = :type, stock_id = :stock_id, gsi1pk = :pending, gsi1sk = :stock_id, created_at = :now",
      ConditionExpression: "attribute_not_exists(pk)",
      ExpressionAttributeNames: { "#type": "type" },
      ExpressionAttributeValues: {
        ":type": "RECONCILE_STOCK",
        ":stock_id": stockId,
        ":pending": KEY.reconcilePending(),
        ":now": now,
      },
    });
    if (this.#registeredStocks.size >= MAX_REMEMBERED_STOCKS) this.#registeredStocks.clear();
    this.#registeredStocks.add(stockId);
  }

  async recordUse(use: CouponUse, now: number): Promise<StateChange<CouponRecord>> {
    const pk = KEY.coupon(use.couponId);
    const entry = useEntry(use);
    // The first use: from SENT, or a coupon not known yet (created here, issued_by_service false until a send says so).
    const first = await conditionalUpdate(this.#doc, this.#table, pk, {
      UpdateExpression: [
        "SET #type = :type, coupon_id = :coupon_id, stock_id = if_not_exists(stock_id, :stock_id), #state = :used",
        "issued_by_service = if_not_exists(issued_by_service, :false), used_at = :used_at, consume_time = :consume_time",
        "transaction_ids = list_append(if_not_exists(transaction_ids, :empty), :transaction_ids)",
        "used_amount = :amount, history = list_append(if_not_exists(history, :empty), :entry)",
        "counted = if_not_exists(counted, :false), created_at = if_not_exists(created_at, :now), updated_at = :now",
        "gsi1sk = :gsi1sk, found_by = :found_by",
        ...(use.consumeMchid === undefined ? [] : ["consume_mchid = :consume_mchid"]),
        ...(use.couponAmount === undefined ? [] : ["coupon_amount = if_not_exists(coupon_amount, :coupon_amount)"]),
        ...(use.availableEndTime === undefined ? [] : ["available_end_time = if_not_exists(available_end_time, :end)"]),
      ].join(", "),
      // From EXPIRED too: the expiry was recorded for want of a use, and a use WeChat reports wins over it.
      ConditionExpression: "attribute_not_exists(#state) OR #state IN (:sent, :expired)",
      ExpressionAttributeNames: { "#type": "type", "#state": "state" },
      ExpressionAttributeValues: {
        ":type": "COUPON",
        ":coupon_id": use.couponId,
        ":stock_id": use.stockId,
        ":used": "USED",
        ":sent": "SENT",
        ":expired": "EXPIRED",
        ":false": false,
        ":used_at": use.usedAt,
        ":consume_time": use.consumeTime,
        ":empty": [],
        ":transaction_ids": use.transactionId === undefined ? [] : [use.transactionId],
        ":amount": use.amount,
        ":entry": [entry],
        ":now": now,
        ":gsi1sk": couponListOrder({ state: "USED", couponId: use.couponId, usedAt: use.usedAt }),
        ":found_by": use.source,
        ...(use.consumeMchid === undefined ? {} : { ":consume_mchid": use.consumeMchid }),
        ...(use.couponAmount === undefined ? {} : { ":coupon_amount": use.couponAmount }),
        ...(use.availableEndTime === undefined ? {} : { ":end": use.availableEndTime }),
      },
    });
    if (first.changed) return { changed: true, record: fromItem(first.item) };
    let existing = fromItem(mustExist(first.existing, use.couponId));
    // Already used (or refunded): the same use again is a no-op; another one is appended.
    for (let attempt = 1; ; attempt++) {
      if (hasEntry(existing.history, entry)) return { changed: false, record: existing };
      const again = await this.#append(existing, "USED", entry, now, {
        set: "transaction_ids = list_append(transaction_ids, :transaction_ids), used_amount = used_amount + :amount",
        values: {
          ":transaction_ids": use.transactionId === undefined ? [] : [use.transactionId],
          ":amount": use.amount,
        },
      });
      if (again.changed) return { changed: true, record: fromItem(again.item) };
      if (attempt >= MAX_ATTEMPTS) throw raceLost(use.couponId);
      existing = fromItem(mustExist(again.existing, use.couponId));
    }
  }

  async recordRefund(refund: CouponRefund, now: number): Promise<StateChange<CouponRecord>> {
    const entry = refundEntry(refund);
    for (let attempt = 1; ; attempt++) {
      const item = await getItem(this.#doc, this.#table, KEY.coupon(refund.couponId));
      if (item === undefined) throw new NotFoundError("coupon_id", `no coupon ${refund.couponId}`);
      const existing = fromItem(item);
      if (existing.state !== "USED" || hasEntry(existing.history, entry)) return { changed: false, record: existing };
      const update = await this.#append(existing, "REFUNDED", entry, now, {
        set: "refunded_at = :refunded_at",
        values: { ":refunded_at": refund.refundedAt },
      });
      if (update.changed) return { changed: true, record: fromItem(update.item) };
      if (attempt >= MAX_ATTEMPTS) throw raceLost(refund.couponId);
    }
  }

  async recordExpiry(expiry: CouponExpiry, now: number): Promise<StateChange<CouponRecord>> {
    const entry = expiryEntry(expiry);
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.coupon(expiry.couponId), {
      // gsi1sk stays: unused coupons keep one order key, stored SENT or EXPIRED (record-rules.ts couponListOrder).
      UpdateExpression:
        "SET #state = :expired, expired_at = :at, available_end_time = if_not_exists(available_end_time, :at), " +
        "history = list_append(history, :entry), updated_at = :now",
      ConditionExpression: "#state = :sent",
      ExpressionAttributeNames: { "#state": "state" },
      ExpressionAttributeValues: {
        ":expired": "EXPIRED",
        ":sent": "SENT",
        ":at": expiry.expiredAt,
        ":entry": [entry],
        ":now": now,
      },
    });
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    return { changed: false, record: fromItem(mustExist(update.existing, expiry.couponId)) };
  }

  /** One more history entry and state, only if the record is still as read (same state, same history length). */
  #append(
    existing: CouponRecord,
    state: StoredCouponState,
    entry: CouponHistoryEntry,
    now: number,
    extra: { set: string; values: Item },
  ) {
    const after = { ...existing, state, ...(state === "REFUNDED" ? { refundedAt: entry.at } : {}) };
    return conditionalUpdate(this.#doc, this.#table, KEY.coupon(existing.couponId), {
      UpdateExpression: `SET #state = :state, history = list_append(history, :entry), updated_at = :now, gsi1sk = :gsi1sk, ${extra.set}`,
      ConditionExpression: "#state = :was AND size(history) = :length",
      ExpressionAttributeNames: { "#state": "state" },
      ExpressionAttributeValues: {
        ":state": state,
        ":was": existing.state,
        ":length": existing.history.length,
        ":entry": [entry],
        ":now": now,
        ":gsi1sk": couponListOrder(after),
        ...extra.values,
      },
    });
  }

  async countUse(couponId: string, now: number, leaseMs: number): Promise<CountUseResult> {
    const pk = KEY.coupon(couponId);
    const until = now + leaseMs;
    // (1) The lease: one counter at a time, and none once counted.
    const claim = await conditionalUpdate(this.#doc, this.#table, pk, {
      UpdateExpression: "SET #lease = :until",
      ConditionExpression:
        "attribute_exists(used_at) AND attribute_exists(campaign_id) AND attribute_exists(sent_at) AND #counted = :false " +
        "AND (attribute_not_exists(#lease) OR #lease <= :now)",
      ExpressionAttributeNames: { "#lease": "count_lease", "#counted": "counted" },
      ExpressionAttributeValues: { ":until": until, ":false": false, ":now": now },
    });
    if (!claim.changed) {
      if (claim.existing === undefined) return "not_countable";
      const existing = fromItem(claim.existing);
      if (existing.counted) return "already";
      return countable(existing) ? "busy" : "not_countable";
    }
    const record = fromItem(claim.item);
    const campaignId = record.campaignId!;
    const totalsPk = KEY.campaignUses(campaignId);
    const usedAt = record.usedAt!;
    const timeToUse = usedAt - record.sentAt!;
    // (2) The totals and the token, in one write; a token already there means a caller that died did this.
    let totals: Item | undefined;
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: totalsPk },
          UpdateExpression:
            "SET #type = :type, campaign_id = :campaign_id, updated_at = :now " +
            "ADD used :one, used_amount :amount, #day :one, #bucket :one, counting :token",
          ConditionExpression: "NOT contains(counting, :coupon_id)",
          ExpressionAttributeNames: {
            "#type": "type",
            "#day": `${DAY_PREFIX}${dayOf(record.consumeTime ?? new Date(usedAt).toISOString())}`,
            "#bucket": `${BUCKET_PREFIX}${timeToUseBucket(timeToUse)}`,
          },
          ExpressionAttributeValues: {
            ":type": "CAMPAIGN_USES",
            ":campaign_id": campaignId,
            ":now": now,
            ":one": 1,
            ":amount": firstUseAmount(record),
            ":token": new Set([couponId]),
            ":coupon_id": couponId,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      totals = Attributes;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    // Minimums are idempotent: every caller may (re)apply them; the totals just read spare the writes that would
    // change nothing (most uses are neither the campaign's first nor its fastest).
    const lower = (attribute: string, value: number) => {
      const stored = totals?.[attribute];
      return typeof stored === "number" && stored <= value ? undefined : this.#lowerTo(totalsPk, attribute, value);
    };
    await lower("first_used_at", usedAt);
    await lower("fastest_use_ms", timeToUse);
    // (3) Counted; fenced on this caller's lease (a caller that took over finishes the same way).
    await conditionalUpdate(this.#doc, this.#table, pk, {
      UpdateExpression: "SET #counted = :true REMOVE #lease",
      ConditionExpression: "#lease = :until",
      ExpressionAttributeNames: { "#lease": "count_lease", "#counted": "counted" },
      ExpressionAttributeValues: { ":true": true, ":until": until },
    });
    // (4) The token is no longer needed: the coupon itself says counted.
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: totalsPk },
        UpdateExpression: "DELETE counting :token",
        ExpressionAttributeValues: { ":token": new Set([couponId]) },
      }),
    );
    return "counted";
  }

  async #lowerTo(pk: string, attribute: string, value: number): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk },
          UpdateExpression: "SET #a = :v",
          ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(#a) OR #a > :v)",
          ExpressionAttributeNames: { "#a": attribute },
          ExpressionAttributeValues: { ":v": value },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async get(couponId: string): Promise<CouponRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.coupon(couponId));
    return item === undefined ? undefined : fromItem(item);
  }

  async getMany(couponIds: readonly string[]): Promise<Map<string, CouponRecord>> {
    if (couponIds.length > BATCH_GET_MAX) throw new ValidationError("coupon_id", `at most ${BATCH_GET_MAX} at once`);
    const found = new Map<string, CouponRecord>();
    let keys = [...new Set(couponIds)].map((id) => ({ pk: KEY.coupon(id) }));
    for (let round = 1; keys.length > 0; round++) {
      if (round > BATCH_GET_ROUNDS) throw new Error(`BatchGetItem left ${keys.length} coupons unread`);
      const answer = await this.#doc.send(
        new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of answer.Responses?.[this.#table] ?? []) {
        const record = fromItem(item);
        found.set(record.couponId, record);
      }
      keys = (answer.UnprocessedKeys?.[this.#table]?.Keys ?? []) as { pk: string }[];
      if (keys.length > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
    }
    return found;
  }

  async listByCampaign(campaignId: string, options: CouponListOptions): Promise<ListPage<CouponRecord>> {
    const gsi1pk = couponListOwner(campaignId);
    const range = couponListRange(options);
    const start = options.cursor === undefined ? undefined : startKey(options.cursor, gsi1pk);
    if (start !== undefined) checkCursorInRange(start.gsi1sk!, range);
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: range === undefined ? "gsi1pk = :pk" : "gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":pk": gsi1pk,
          ...(range === undefined ? {} : { ":from": range.from, ":to": range.to }),
        },
        // One more than the page, so a cursor is returned only when another item really follows.
        Limit: options.limit + 1,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = Items.slice(0, options.limit);
    const last = items.at(-1);
    const records = items.map(fromItem);
    if (Items.length <= options.limit || last === undefined) return { items: records };
    return { items: records, cursor: encodeCursor({ pk: str(last, "pk"), gsi1pk, gsi1sk: str(last, "gsi1sk") }) };
  }

  async listIssuedByStock(stockId: string, options: { limit: number; cursor?: string }): Promise<ListPage<string>> {
    const gsi2pk = KEY.stockCoupons(stockId);
    const start =
      options.cursor === undefined ? undefined : decodeCursor(options.cursor, ["pk", "gsi2pk", "gsi2sk"], { gsi2pk });
    if (start !== undefined && start.pk !== KEY.coupon(start.gsi2sk)) {
      throw new ValidationError("cursor", "is not a cursor this list returned");
    }
    const { Items = [], LastEvaluatedKey } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI2,
        KeyConditionExpression: "gsi2pk = :pk",
        ExpressionAttributeValues: { ":pk": gsi2pk },
        Limit: options.limit,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const ids = Items.map((item) => str(item, "gsi2sk"));
    const last = Items.at(-1);
    if (LastEvaluatedKey === undefined || last === undefined) return { items: ids };
    return { items: ids, cursor: encodeCursor({ pk: str(last, "pk"), gsi2pk, gsi2sk: str(last, "gsi2sk") }) };
  }

  async campaignUses(campaignId: string): Promise<CampaignUseTotals> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk: KEY.campaignUses(campaignId) }, ConsistentRead: true }),
    );
    const totals = emptyUseTotals(campaignId);
    if (Item === undefined) return totals;
    totals.used = num(Item, "used");
    totals.usedAmount = num(Item, "used_amount");
    if (typeof Item.first_used_at === "number") totals.firstUsedAt = Item.first_used_at;
    if (typeof Item.fastest_use_ms === "number") totals.fastestUseMs = Item.fastest_use_ms;
    for (const [name, value] of Object.entries(Item)) {
      if (name.startsWith(DAY_PREFIX)) totals.usesByDay[name.slice(DAY_PREFIX.length)] = Number(value);
      else if (name.startsWith(BUCKET_PREFIX))
        totals.timeToUse[Number(name.slice(BUCKET_PREFIX.length))] = Number(value);
    }
    return totals;
  }
}

/** Attribute names of the totals item: uses on one day, uses in one time-to-use bucket. */
const DAY_PREFIX = "day#";
const BUCKET_PREFIX = "ttu#";

/** The index position a cursor of this campaign's coupon list holds: a coupon item's keys, in this list. */
function startKey(cursor: string, gsi1pk: string): Record<string, string> {
  const position = decodeCursor(cursor, ["pk", "gsi1pk", "gsi1sk"], { gsi1pk });
  if (!position.pk.startsWith("COUPON#") || !position.gsi1sk.endsWith(`#${position.pk.slice("COUPON#".length)}`)) {
    throw new ValidationError("cursor", "is not a cursor this list returned");
  }
  return position;
}

function mustExist(item: Item | undefined, couponId: string): Item {
  // Only an item deleted by hand between the refused write and its read-back.
  if (item === undefined) throw new NotFoundError("coupon_id", `no coupon ${couponId}`);
  return item;
}

function raceLost(couponId: string): ConflictError {
  return new ConflictError("COUPON_BUSY", "coupon_id", `coupon ${couponId} kept changing while this was recorded`);
}

export function couponFromItem(item: Item): CouponRecord {
  return fromItem(item);
}

function fromItem(item: Item): CouponRecord {
  const numbers = (names: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(names)
        .filter(([, attribute]) => typeof item[attribute] === "number")
        .map(([field, attribute]) => [field, item[attribute] as number]),
    );
  return {
    couponId: str(item, "coupon_id"),
    stockId: str(item, "stock_id"),
    state: str(item, "state") as StoredCouponState,
    issuedByService: item.issued_by_service === true,
    ...optionalStrings(item, {
      mchid: "mchid",
      outRequestNo: "out_request_no",
      openid: "openid",
      appid: "appid",
      campaignId: "campaign_id",
      consumeTime: "consume_time",
      consumeMchid: "consume_mchid",
    }),
    ...(item.found_by === "notification" || item.found_by === "reconciliation" ? { foundBy: item.found_by } : {}),
    ...numbers({
      sentAt: "sent_at",
      usedAt: "used_at",
      usedAmount: "used_amount",
      couponAmount: "coupon_amount",
      refundedAt: "refunded_at",
      expiredAt: "expired_at",
      availableEndTime: "available_end_time",
    }),
    transactionIds: Array.isArray(item.transaction_ids) ? (item.transaction_ids as string[]) : [],
    history: Array.isArray(item.history) ? (item.history as CouponHistoryEntry[]) : [],
    counted: item.counted === true,
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
}
