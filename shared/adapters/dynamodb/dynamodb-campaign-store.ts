import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { lastChunkConflict } from "../../domain/campaigns/campaign-conflicts.js";
import { NotFoundError, ValidationError } from "../../domain/errors.js";
import {
  type CampaignChunk,
  type CampaignControl,
  type CampaignControlReason,
  type CampaignCounts,
  type CampaignListOptions,
  type CampaignRecord,
  type CampaignStore,
  type CampaignSweep,
  type ClaimResult,
  type ControlChange,
  deriveCampaignState,
  type ListPage,
  type NewCampaign,
  type NewCampaignChunk,
  type RetryFill,
  type RetryLink,
  type RetryOrigin,
  type StateChange,
} from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { campaignConflict, campaignListOrder, campaignListOwner } from "../record-rules.js";
import { CONDITION, conditionalUpdate, getItem, isConditionalCheckFailed, putIfAbsent } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, str } from "./item.js";
import { GSI1, KEY, TTL_ATTRIBUTE } from "./table-definition.js";

/** The sparse gsi1 partition of campaigns the sweeper still looks after (one marker item per campaign). */
const ACTIVE_CAMPAIGNS = "CAMPAIGNS_ACTIVE";
/** A retired marker stays a day (TTL), long after anything could still read it. */
const RETIRED_MARKER_TTL_SECONDS = 86_400;

/** Index items read per Query of the campaign list. */
const LIST_QUERY_LIMIT = 100;

/**
 * `CampaignStore` on the single table: item `CAMPAIGN#{id}` with counters updated by atomic ADD, and one item
 * `CAMPAIGN#{id}#CHUNK#{n}` per chunk of a chunked campaign. No transactions (dynalite, behind the local stack, has
 * none): a chunk is counted by claiming its `counted` flag first, so a crash can only leave the total short, and the
 * seal recounts it from the chunk items.
 */
export class DynamoDbCampaignStore implements CampaignStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async create(campaign: NewCampaign): Promise<ClaimResult<CampaignRecord>> {
    const pk = KEY.campaign(campaign.id);
    const chunked = campaign.chunked === true;
    const item: Item = {
      pk,
      type: "CAMPAIGN",
      id: campaign.id,
      request_hash: campaign.requestHash,
      mchid: campaign.mchid,
      stock_id: campaign.stockId,
      appid: campaign.appid,
      total: campaign.total,
      rate_per_second: campaign.ratePerSecond,
      chunked,
      // A one-shot campaign is one chunk (number 0), complete at once.
      sealed: !chunked,
      ...(chunked ? {} : { last_chunk_no: 0 }),
      chunks_received: chunked ? 0 : 1,
      enqueued: 0,
      sent: 0,
      failed: 0,
      cancelled: 0,
      control: "RUNNING",
      ...(campaign.startAt === undefined ? {} : { start_at: campaign.startAt }),
      ...(campaign.retryOf === undefined
        ? {}
        : {
            retry_of: {
              campaign_id: campaign.retryOf.campaignId,
              attempt: campaign.retryOf.attempt,
              codes: campaign.retryOf.codes,
            },
          }),
      // The merchant's campaign list, newest first (gsi1 read backwards).
      gsi1pk: campaignListOwner(campaign.mchid),
      gsi1sk: campaignListOrder(campaign),
      // Created empty so that recordOutcome can SET a nested counter (a SET on a path needs the parent map).
      failures_by_code: {},
      version: 0,
      reconciled: false,
      created_at: campaign.createdAt,
      updated_at: campaign.createdAt,
    };
    // On the sweeper's list first: a crash between the two writes leaves a marker without a campaign (skipped),
    // never a campaign the sweeper cannot see. A replay or a conflicting create puts it again: the sweeper retires a
    // completed campaign's marker again on its next run.
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          pk: KEY.activeCampaign(campaign.id),
          type: "CAMPAIGN_ACTIVE",
          campaign_id: campaign.id,
          gsi1pk: ACTIVE_CAMPAIGNS,
          gsi1sk: campaignListOrder(campaign),
        },
      }),
    );
    // One campaign per id: a retried create with the same request replays; another request is a conflict.
    const put = await putIfAbsent(this.#doc, this.#table, item);
    if (put.created) return { created: true, record: fromItem(item) };
    if (put.existing.request_hash !== campaign.requestHash) throw campaignConflict();
    return { created: false, record: fromItem(put.existing) };
  }

  async get(id: string): Promise<CampaignRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.campaign(id));
    return item === undefined ? undefined : fromItem(item);
  }

  async recordOutcomes(id: string, tally: CampaignCounts, now: number): Promise<CampaignRecord> {
    // One UpdateItem = atomic under any concurrency. ADD works on top-level numbers only, so each per-code counter
    // inside the map is incremented with SET … if_not_exists(…) + n in the same update.
    const codes = Object.entries(tally.failuresByCode);
    const names: Record<string, string> = {
      "#sent": "sent",
      "#failed": "failed",
      "#cancelled": "cancelled",
      "#version": "version",
      "#reconciled": "reconciled",
    };
    const values: Record<string, unknown> = {
      ":sent": tally.sent,
      ":failed": tally.failed,
      ":cancelled": tally.cancelled ?? 0,
      ":one": 1,
      ":now": now,
    };
    const sets = ["#updated_at = :now"];
    if (codes.length > 0) {
      names["#fbc"] = "failures_by_code";
      values[":zero"] = 0;
    }
    codes.forEach(([code, n], i) => {
      names[`#c${i}`] = code;
      values[`:n${i}`] = n;
      sets.push(`#fbc.#c${i} = if_not_exists(#fbc.#c${i}, :zero) + :n${i}`);
    });
    // Once reconciled, the counters are the ledger's recount: a late count (its record was final before the count
    // landed, then the message came back) is already in them and must not be added again.
    return this.#update(
      id,
      `ADD #sent :sent, #failed :failed, #cancelled :cancelled, #version :one SET ${sets.join(", ")}`,
      names,
      { ...values, ":false": false },
      "attribute_not_exists(#reconciled) OR #reconciled = :false",
    );
  }

  async recordLateSuccess(id: string, failureCode: string, now: number): Promise<CampaignRecord> {
    return this.#update(
      id,
      "ADD #sent :one, #failed :minus SET #updated_at = :now, #fbc.#code = #fbc.#code - :one",
      {
        "#sent": "sent",
        "#failed": "failed",
        "#reconciled": "reconciled",
        "#fbc": "failures_by_code",
        "#code": failureCode,
      },
      { ":one": 1, ":minus": -1, ":zero": 0, ":true": true, ":now": now },
      "#reconciled = :true AND #failed > :zero AND #fbc.#code > :zero",
    );
  }

  async reconcile(id: string, counts: CampaignCounts, expectedVersion: number, now: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.campaign(id) },
          UpdateExpression:
            "SET #sent = :sent, #failed = :failed, #cancelled = :cancelled, #fbc = :fbc, #reconciled = :true, " +
            "#updated_at = :now",
          // Optimistic: a recordOutcome that landed after the recount began bumped the version; try again later.
          // An open (unsealed) campaign can still grow: never reconciled.
          ConditionExpression: "#version = :expected AND #sealed = :true",
          ExpressionAttributeNames: {
            "#sent": "sent",
            "#failed": "failed",
            "#cancelled": "cancelled",
            "#fbc": "failures_by_code",
            "#reconciled": "reconciled",
            "#updated_at": "updated_at",
            "#version": "version",
            "#sealed": "sealed",
          },
          ExpressionAttributeValues: {
            ":sent": counts.sent,
            ":failed": counts.failed,
            ":cancelled": counts.cancelled ?? 0,
            ":fbc": counts.failuresByCode,
            ":true": true,
            ":now": now,
            ":expected": expectedVersion,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async setControl(id: string, change: ControlChange, now: number): Promise<StateChange<CampaignRecord>> {
    const from = Object.fromEntries(change.from.map((c, i) => [`:from${i}`, c]));
    // A campaign stored before the lifecycle existed has no control attribute: it is RUNNING.
    const legacy = change.from.includes("RUNNING") ? " OR attribute_not_exists(#control)" : "";
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaign(id), {
      // Only the control attributes: the counters keep their own atomic ADDs, so no outcome counted meanwhile is lost.
      UpdateExpression:
        "SET #control = :to, #control_changed_at = :now, #updated_at = :now" +
        (change.reason === undefined ? " REMOVE #control_reason" : ", #control_reason = :reason"),
      ConditionExpression:
        `${CONDITION.exists} AND (#control IN (${Object.keys(from).join(", ")})${legacy}) ` +
        "AND (attribute_not_exists(#reconciled) OR #reconciled = :false)",
      ExpressionAttributeNames: {
        "#control": "control",
        "#control_changed_at": "control_changed_at",
        "#control_reason": "control_reason",
        "#updated_at": "updated_at",
        "#reconciled": "reconciled",
      },
      ExpressionAttributeValues: {
        ...from,
        ":to": change.to,
        ":now": now,
        ":false": false,
        ...(change.reason === undefined ? {} : { ":reason": change.reason }),
      },
    });
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    if (update.existing === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return { changed: false, record: fromItem(update.existing) };
  }

  async list(options: CampaignListOptions): Promise<ListPage<CampaignRecord>> {
    const gsi1pk = campaignListOwner(options.mchid);
    let start = options.cursor === undefined ? undefined : listStartKey(options.cursor, gsi1pk);
    const scanLimit = options.scanLimit ?? Number.POSITIVE_INFINITY;
    const items: CampaignRecord[] = [];
    let scanned = 0;
    let last: Item | undefined;
    const cursorAfter = (item: Item) => encodeCursor({ pk: str(item, "pk"), gsi1pk, gsi1sk: str(item, "gsi1sk") });
    for (;;) {
      const { Items = [], LastEvaluatedKey } = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: GSI1,
          KeyConditionExpression: "gsi1pk = :pk",
          ExpressionAttributeValues: { ":pk": gsi1pk },
          ScanIndexForward: false,
          // One more than can be used, so that a full page knows whether another item follows.
          Limit: Math.min(
            LIST_QUERY_LIMIT,
            scanLimit - scanned + 1,
            options.where === undefined ? options.limit - items.length + 1 : LIST_QUERY_LIMIT,
          ),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of Items) {
        // Full page, or read budget spent, with this item still to come: the cursor points just before it.
        if ((items.length >= options.limit || scanned >= scanLimit) && last !== undefined) {
          return { items, cursor: cursorAfter(last) };
        }
        scanned++;
        last = item;
        const record = fromItem(item);
        if (options.where === undefined || options.where(record)) items.push(record);
      }
      if (LastEvaluatedKey === undefined) return { items };
      if ((items.length >= options.limit || scanned >= scanLimit) && last !== undefined) {
        return { items, cursor: cursorAfter(last) };
      }
      start = LastEvaluatedKey as Record<string, string>;
    }
  }

  async sealAsIs(id: string, now: number): Promise<CampaignRecord> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaign(id), {
      UpdateExpression: "SET #sealed = :true, #updated_at = :now",
      ConditionExpression: `${CONDITION.exists} AND #sealed = :false`,
      ExpressionAttributeNames: { "#sealed": "sealed", "#updated_at": "updated_at" },
      ExpressionAttributeValues: { ":true": true, ":false": false, ":now": now },
    });
    if (update.changed) return fromItem(update.item);
    if (update.existing === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return fromItem(update.existing);
  }

  async listActive(options: { limit: number; cursor?: string }): Promise<ListPage<CampaignRecord>> {
    const start =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, ["pk", "gsi1pk", "gsi1sk"], { gsi1pk: ACTIVE_CAMPAIGNS });
    if (start !== undefined && !/^CAMPAIGN#.+#ACTIVE$/.test(start.pk)) {
      throw new ValidationError("cursor", "is not a cursor this list returned");
    }
    const { Items = [], LastEvaluatedKey } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": ACTIVE_CAMPAIGNS },
        Limit: options.limit,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    // The markers hold only the id: each campaign is read whole (strongly consistent). A marker whose campaign was
    // never created (a create that failed after it) is skipped.
    const records = await Promise.all(Items.map((marker) => this.get(str(marker, "campaign_id"))));
    const items = records.filter((r): r is CampaignRecord => r !== undefined);
    const last = Items.at(-1);
    if (LastEvaluatedKey === undefined || last === undefined) return { items };
    return {
      items,
      cursor: encodeCursor({ pk: str(last, "pk"), gsi1pk: ACTIVE_CAMPAIGNS, gsi1sk: str(last, "gsi1sk") }),
    };
  }

  async saveSweep(id: string, sweep: CampaignSweep, expectedSeq: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.campaign(id) },
          UpdateExpression: "SET #sweep = :sweep, #seq = :seq",
          // One writer per step: a run that lost the race (another wrote since it read) writes nothing.
          ConditionExpression:
            `${CONDITION.exists} AND (attribute_not_exists(#reconciled) OR #reconciled = :false) AND ` +
            (expectedSeq === 0 ? "attribute_not_exists(#seq)" : "#seq = :expected"),
          ExpressionAttributeNames: { "#sweep": "sweep", "#seq": "sweep_seq", "#reconciled": "reconciled" },
          ExpressionAttributeValues: {
            ":sweep": JSON.stringify(sweep),
            ":seq": sweep.seq,
            ":false": false,
            ...(expectedSeq === 0 ? {} : { ":expected": expectedSeq }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async retire(id: string, now: number): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.activeCampaign(id) },
          // Out of the sparse list at once (no gsi1 keys), and gone through TTL later (no DeleteItem is granted).
          UpdateExpression: "REMOVE #gsi1pk, #gsi1sk SET #expires_at = :expires",
          ConditionExpression: CONDITION.exists,
          ExpressionAttributeNames: { "#gsi1pk": "gsi1pk", "#gsi1sk": "gsi1sk", "#expires_at": TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ":expires": Math.floor(now / 1000) + RETIRED_MARKER_TTL_SECONDS },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async addRetry(
    id: string,
    link: RetryLink,
    expectedCount: number,
    now: number,
  ): Promise<StateChange<CampaignRecord>> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaign(id), {
      UpdateExpression: "SET #retries = list_append(if_not_exists(#retries, :empty), :link), #updated_at = :now",
      // Optimistic on the list's length: of two retries racing to be the parent's next one, one is added.
      ConditionExpression: `${CONDITION.exists} AND ${
        expectedCount === 0 ? "attribute_not_exists(#retries)" : "size(#retries) = :count"
      }`,
      ExpressionAttributeNames: { "#retries": "retries", "#updated_at": "updated_at" },
      ExpressionAttributeValues: {
        ":empty": [],
        ":link": [{ campaign_id: link.campaignId, codes: link.codes }],
        ":now": now,
        ...(expectedCount === 0 ? {} : { ":count": expectedCount }),
      },
    });
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    if (update.existing === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return { changed: false, record: fromItem(update.existing) };
  }

  async advanceRetryFill(id: string, fill: RetryFill, now: number): Promise<StateChange<CampaignRecord>> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaign(id), {
      UpdateExpression: "SET #fill = :fill, #updated_at = :now",
      // Only forward: a slower concurrent filler never moves the cursor back.
      ConditionExpression: `${CONDITION.exists} AND (attribute_not_exists(#fill) OR #fill.#next < :next)`,
      ExpressionAttributeNames: { "#fill": "retry_fill", "#next": "next_page", "#updated_at": "updated_at" },
      ExpressionAttributeValues: {
        ":fill": {
          next_page: fill.nextPage,
          complete: fill.complete,
          ...(fill.cursor === undefined ? {} : { cursor: fill.cursor }),
        },
        ":next": fill.nextPage,
        ":now": now,
      },
    });
    if (update.changed) return { changed: true, record: fromItem(update.item) };
    if (update.existing === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return { changed: false, record: fromItem(update.existing) };
  }

  markEnqueued(id: string, count: number, now: number): Promise<CampaignRecord> {
    return this.#update(
      id,
      "ADD #enqueued :n SET #updated_at = :now",
      { "#enqueued": "enqueued" },
      { ":n": count, ":now": now },
    );
  }

  async putChunk(chunk: NewCampaignChunk): Promise<ClaimResult<CampaignChunk>> {
    const pk = KEY.campaignChunk(chunk.campaignId, chunk.chunkNo);
    const item: Item = {
      pk,
      type: "CAMPAIGN_CHUNK",
      campaign_id: chunk.campaignId,
      chunk_no: chunk.chunkNo,
      request_hash: chunk.requestHash,
      count: chunk.count,
      counted: false,
      enqueued: false,
      created_at: chunk.createdAt,
      updated_at: chunk.createdAt,
    };
    // First writer wins: a re-posted chunk replays, another chunk under the same number is the caller's conflict.
    const put = await putIfAbsent(this.#doc, this.#table, item);
    return put.created
      ? { created: true, record: chunkFromItem(item) }
      : { created: false, record: chunkFromItem(put.existing) };
  }

  async getChunk(id: string, chunkNo: number): Promise<CampaignChunk | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.campaignChunk(id, chunkNo));
    return item === undefined ? undefined : chunkFromItem(item);
  }

  async countChunk(id: string, chunkNo: number, now: number): Promise<StateChange<CampaignChunk>> {
    const change = await this.#claimChunkFlag(id, chunkNo, "counted", now);
    if (!change.changed) return change;
    // Only the claimant gets here, once per chunk. After the seal the recount already holds this chunk.
    await this.#addIfCampaign(
      id,
      "ADD #total :count, #chunks_received :one SET #updated_at = :now",
      { "#total": "total", "#chunks_received": "chunks_received", "#sealed": "sealed" },
      { ":count": change.record.count, ":one": 1, ":now": now, ":false": false },
      "#sealed = :false",
    );
    return change;
  }

  async markChunkEnqueued(id: string, chunkNo: number, now: number): Promise<StateChange<CampaignChunk>> {
    const change = await this.#claimChunkFlag(id, chunkNo, "enqueued", now);
    if (!change.changed) return change;
    await this.#addIfCampaign(
      id,
      "ADD #enqueued :count SET #updated_at = :now",
      { "#enqueued": "enqueued" },
      { ":count": change.record.count, ":now": now },
    );
    return change;
  }

  async setLastChunk(id: string, chunkNo: number, now: number): Promise<CampaignRecord> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaign(id), {
      UpdateExpression: "SET #last = :n, #updated_at = :now",
      // The last chunk is named once: repeating it is fine, naming another one is a conflict.
      ConditionExpression: `${CONDITION.exists} AND (attribute_not_exists(#last) OR #last = :n)`,
      ExpressionAttributeNames: { "#last": "last_chunk_no", "#updated_at": "updated_at" },
      ExpressionAttributeValues: { ":n": chunkNo, ":now": now },
    });
    if (update.changed) return fromItem(update.item);
    if (update.existing === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    throw lastChunkConflict(num(update.existing, "last_chunk_no"));
  }

  async trySeal(id: string, now: number): Promise<{ record: CampaignRecord; missing: number }> {
    const record = await this.get(id);
    if (record === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    if (record.sealed || record.lastChunkNo === undefined) return { record, missing: 0 };
    const last = record.lastChunkNo;
    const counts = await this.#chunkCounts(id, last);
    const missing = last + 1 - counts.size;
    if (missing > 0) return { record, missing };
    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.campaign(id) },
          UpdateExpression: "SET #sealed = :true, #total = :total, #chunks_received = :received, #updated_at = :now",
          // Written once; a chunk counted after the reads above is in `total` already (it existed to be read).
          ConditionExpression: `${CONDITION.exists} AND #sealed = :false AND #last = :last`,
          ExpressionAttributeNames: {
            "#sealed": "sealed",
            "#total": "total",
            "#chunks_received": "chunks_received",
            "#last": "last_chunk_no",
            "#updated_at": "updated_at",
          },
          ExpressionAttributeValues: {
            ":true": true,
            ":false": false,
            ":total": total,
            ":received": last + 1,
            ":last": last,
            ":now": now,
          },
          ReturnValues: "ALL_NEW",
        }),
      );
      return { record: fromItem(Attributes ?? {}), missing: 0 };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Another request sealed it first.
      const again = await this.get(id);
      if (again === undefined) throw new NotFoundError("campaign_id", "no such campaign");
      return { record: again, missing: 0 };
    }
  }

  /**
   * Counts of the chunks 0..last that exist, by chunk number: strongly consistent GetItems, 32 at a time (sealing a
   * campaign of 1,000 chunks is ~30 rounds, once). GetItem rather than BatchGetItem keeps the api function's grant
   * as it is (GetItem, Query, PutItem, UpdateItem).
   */
  async #chunkCounts(id: string, last: number): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    let next = 0;
    const reader = async () => {
      while (next <= last) {
        const n = next++;
        const { Item } = await this.#doc.send(
          new GetCommand({
            TableName: this.#table,
            Key: { pk: KEY.campaignChunk(id, n) },
            ConsistentRead: true,
            ProjectionExpression: "#count",
            ExpressionAttributeNames: { "#count": "count" },
          }),
        );
        if (Item !== undefined) counts.set(n, num(Item, "count"));
      }
    };
    await Promise.all(Array.from({ length: Math.min(32, last + 1) }, reader));
    return counts;
  }

  /** Sets a chunk flag false → true; `changed: false` with the stored chunk when it was set before. */
  async #claimChunkFlag(
    id: string,
    chunkNo: number,
    flag: "counted" | "enqueued",
    now: number,
  ): Promise<StateChange<CampaignChunk>> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaignChunk(id, chunkNo), {
      UpdateExpression: "SET #flag = :true, #updated_at = :now",
      ConditionExpression: `${CONDITION.exists} AND #flag = :false`,
      ExpressionAttributeNames: { "#flag": flag, "#updated_at": "updated_at" },
      ExpressionAttributeValues: { ":true": true, ":false": false, ":now": now },
    });
    if (update.changed) return { changed: true, record: chunkFromItem(update.item) };
    if (update.existing === undefined) throw new NotFoundError("chunk_no", "no such chunk");
    return { changed: false, record: chunkFromItem(update.existing) };
  }

  /** A counter update on the campaign that is skipped (not an error) when the campaign or `condition` says no. */
  async #addIfCampaign(
    id: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
    condition?: string,
  ): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.campaign(id) },
          UpdateExpression: expression,
          ConditionExpression: condition ? `${CONDITION.exists} AND ${condition}` : CONDITION.exists,
          ExpressionAttributeNames: { "#updated_at": "updated_at", ...names },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async #update(
    id: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
    /** When it fails on an existing item, the update is skipped and the item returned as it is. */
    skipUnless?: string,
  ): Promise<CampaignRecord> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.campaign(id), {
      UpdateExpression: expression,
      // Counters of an unknown campaign must not create a headless item.
      ConditionExpression: skipUnless ? `${CONDITION.exists} AND (${skipUnless})` : CONDITION.exists,
      ExpressionAttributeNames: { "#updated_at": "updated_at", ...names },
      ExpressionAttributeValues: values,
    });
    if (update.changed) return fromItem(update.item);
    if (update.existing === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return fromItem(update.existing);
  }
}

/** The index position a cursor of this merchant's campaign list holds: a campaign item's keys, in that list. */
function listStartKey(cursor: string, gsi1pk: string): Record<string, string> {
  const position = decodeCursor(cursor, ["pk", "gsi1pk", "gsi1sk"], { gsi1pk });
  const id = position.pk.startsWith("CAMPAIGN#") ? position.pk.slice("CAMPAIGN#".length) : "";
  if (!/^[0-9]{15}#/.test(position.gsi1sk) || id === "" || position.gsi1sk.slice(16) !== id) {
    throw new ValidationError("cursor", "is not a cursor this list returned");
  }
  return position;
}

export function campaignFromItem(item: Item): CampaignRecord {
  return fromItem(item);
}

function fromItem(item: Item): CampaignRecord {
  const chunked = item.chunked === true;
  const counters = {
    total: num(item, "total"),
    enqueued: num(item, "enqueued"),
    sent: num(item, "sent"),
    failed: num(item, "failed"),
    cancelled: num(item, "cancelled"),
    reconciled: item.reconciled === true,
    sealed: item.sealed === true,
    // Campaigns stored before the lifecycle existed have no control: they run.
    control: (typeof item.control === "string" ? item.control : "RUNNING") as CampaignControl,
  };
  const failuresByCode: Record<string, number> = {};
  for (const [code, n] of Object.entries((item.failures_by_code as Record<string, unknown> | undefined) ?? {})) {
    failuresByCode[code] = Number(n);
  }
  return {
    id: str(item, "id"),
    requestHash: str(item, "request_hash"),
    mchid: str(item, "mchid"),
    stockId: str(item, "stock_id"),
    appid: str(item, "appid"),
    ratePerSecond: num(item, "rate_per_second"),
    chunked,
    ...counters,
    ...(item.last_chunk_no === undefined ? {} : { lastChunkNo: num(item, "last_chunk_no") }),
    ...(item.start_at === undefined ? {} : { startAt: num(item, "start_at") }),
    ...(item.control_changed_at === undefined ? {} : { controlChangedAt: num(item, "control_changed_at") }),
    ...retryFields(item),
    ...(item.control_reason === undefined
      ? {}
      : { controlReason: str(item, "control_reason") as CampaignControlReason }),
    chunksReceived: num(item, "chunks_received"),
    state: deriveCampaignState(counters),
    failuresByCode,
    version: num(item, "version"),
    ...(typeof item.sweep === "string" ? { sweep: JSON.parse(item.sweep) as CampaignSweep } : {}),
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
}

/** The retry attributes of a campaign item: `retry_of` and `retry_fill` (a retry), `retries` (a parent). */
function retryFields(item: Item): Pick<CampaignRecord, "retryOf" | "retries" | "retryFill"> {
  const fields: Pick<CampaignRecord, "retryOf" | "retries" | "retryFill"> = {};
  const codes = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  if (item.retry_of !== undefined) {
    const origin = item.retry_of as Item;
    fields.retryOf = {
      campaignId: str(origin, "campaign_id"),
      attempt: num(origin, "attempt"),
      codes: codes(origin.codes),
    } satisfies RetryOrigin;
  }
  if (Array.isArray(item.retries)) {
    fields.retries = (item.retries as Item[]).map((link) => ({
      campaignId: str(link, "campaign_id"),
      codes: codes(link.codes),
    }));
  }
  if (item.retry_fill !== undefined) {
    const fill = item.retry_fill as Item;
    fields.retryFill = {
      nextPage: num(fill, "next_page"),
      complete: fill.complete === true,
      ...(typeof fill.cursor === "string" ? { cursor: fill.cursor } : {}),
    };
  }
  return fields;
}

function chunkFromItem(item: Item): CampaignChunk {
  return {
    campaignId: str(item, "campaign_id"),
    chunkNo: num(item, "chunk_no"),
    requestHash: str(item, "request_hash"),
    count: num(item, "count"),
    counted: item.counted === true,
    enqueued: item.enqueued === true,
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
}
