import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { NotFoundError } from "../../domain/errors.js";
import {
  type CampaignCounts,
  type CampaignRecord,
  type CampaignStore,
  type ClaimResult,
  deriveCampaignState,
  type NewCampaign,
} from "../../domain/ports.js";
import { campaignConflict, UNKNOWN_ERROR_CODE } from "../record-rules.js";
import { CONDITION, getItem, type Item, isConditionalCheckFailed, itemAfterConditionFailure } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./dynamodb-send-ledger.js";
import { num, str } from "./leased-item.js";
import { KEY } from "./table-definition.js";

/** `CampaignStore` on the single table: item `CAMPAIGN#{id}` with counters updated by atomic ADD. */
export class DynamoDbCampaignStore implements CampaignStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async create(campaign: NewCampaign): Promise<ClaimResult<CampaignRecord>> {
    const pk = KEY.campaign(campaign.id);
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
      enqueued: 0,
      sent: 0,
      failed: 0,
      // Created empty so that recordOutcome can SET a nested counter (a SET on a path needs the parent map).
      failures_by_code: {},
      version: 0,
      reconciled: false,
      created_at: campaign.createdAt,
      updated_at: campaign.createdAt,
    };
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          // One campaign per id: a retried create with the same request replays; another request is a conflict.
          ConditionExpression: CONDITION.absent,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { created: true, record: fromItem(item) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await itemAfterConditionFailure(error, this.#doc, this.#table, pk);
      if (existing === undefined) throw error;
      if (existing.request_hash !== campaign.requestHash) throw campaignConflict();
      return { created: false, record: fromItem(existing) };
    }
  }

  async get(id: string): Promise<CampaignRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.campaign(id));
    return item === undefined ? undefined : fromItem(item);
  }

  async recordOutcome(
    id: string,
    outcome: "SENT" | "FAILED",
    errorCode: string | undefined,
    now: number,
  ): Promise<CampaignRecord> {
    // One UpdateItem = atomic under any concurrency. ADD works on top-level numbers only, so the per-code counter
    // inside the map is incremented with SET … if_not_exists(…) + 1 in the same update.
    const update: { expression: string; names: Record<string, string>; values: Record<string, unknown> } =
      outcome === "SENT"
        ? {
            expression: "ADD #sent :one, #version :one SET #updated_at = :now",
            names: { "#sent": "sent", "#version": "version" },
            values: {},
          }
        : {
            expression:
              "ADD #failed :one, #version :one SET #fbc.#code = if_not_exists(#fbc.#code, :zero) + :one, #updated_at = :now",
            names: {
              "#failed": "failed",
              "#version": "version",
              "#fbc": "failures_by_code",
              "#code": errorCode ?? UNKNOWN_ERROR_CODE,
            },
            values: { ":zero": 0 },
          };
    return this.#update(id, update.expression, update.names, { ":one": 1, ":now": now, ...update.values });
  }

  async reconcile(id: string, counts: CampaignCounts, expectedVersion: number, now: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.campaign(id) },
          UpdateExpression:
            "SET #sent = :sent, #failed = :failed, #fbc = :fbc, #reconciled = :true, #updated_at = :now",
          // Optimistic: a recordOutcome that landed after the recount began bumped the version; try again later.
          ConditionExpression: "#version = :expected",
          ExpressionAttributeNames: {
            "#sent": "sent",
            "#failed": "failed",
            "#fbc": "failures_by_code",
            "#reconciled": "reconciled",
            "#updated_at": "updated_at",
            "#version": "version",
          },
          ExpressionAttributeValues: {
            ":sent": counts.sent,
            ":failed": counts.failed,
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

  markEnqueued(id: string, count: number, now: number): Promise<CampaignRecord> {
    return this.#update(
      id,
      "ADD #enqueued :n SET #updated_at = :now",
      { "#enqueued": "enqueued" },
      { ":n": count, ":now": now },
    );
  }

  async #update(
    id: string,
    expression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<CampaignRecord> {
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: KEY.campaign(id) },
          UpdateExpression: expression,
          // Counters of an unknown campaign must not create a headless item.
          ConditionExpression: CONDITION.exists,
          ExpressionAttributeNames: { "#updated_at": "updated_at", ...names },
          ExpressionAttributeValues: values,
          ReturnValues: "ALL_NEW",
        }),
      );
      return fromItem(Attributes ?? {});
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new NotFoundError("campaign_id", "no such campaign");
      throw error;
    }
  }
}

function fromItem(item: Item): CampaignRecord {
  const counters = {
    total: num(item, "total"),
    enqueued: num(item, "enqueued"),
    sent: num(item, "sent"),
    failed: num(item, "failed"),
    reconciled: item.reconciled === true,
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
    ...counters,
    state: deriveCampaignState(counters),
    failuresByCode,
    version: num(item, "version"),
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
}
