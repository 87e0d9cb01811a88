import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { RateCounter, RateSignal } from "../../domain/rate/rate-governor.js";
import { getItem, isConditionalCheckFailed } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { num } from "./item.js";
import { KEY, TTL_ATTRIBUTE } from "./table-definition.js";

/**
 * `RateCounter` on the single table: one item `RATE#{scope}#{epochSecond}` per scope and second, incremented with an
 * atomic ADD by every worker (docs/aws-notes.md#distributed-counter-in-dynamodb). One UpdateItem per acquisition ≈ 1
 * WCU; one key per second stays far below DynamoDB's 1,000 WCU/s per partition at WeChat's 500/s. TTL removes the items
 * two minutes later.
 */
export class DynamoDbRateCounter implements RateCounter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async add(scope: string, epochSecond: number, tokens: number): Promise<number> {
    const { Attributes } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: KEY.rate(scope, epochSecond) },
        // No condition: the counter may pass the limit; the governor grants only what fits under it.
        UpdateExpression: "ADD #n :tokens SET #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames: { "#n": "n", "#ttl": TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ":tokens": tokens, ":ttl": epochSecond + 120 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(Attributes?.n ?? 0);
  }

  async readSignal(scope: string): Promise<RateSignal | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.rateSignal(scope));
    if (item === undefined) return undefined;
    return { lastCut: num(item, "last_cut"), factor: num(item, "factor"), hitAt: num(item, "hit_at") };
  }

  async recordSignal(scope: string, signal: RateSignal, spacingMs: number): Promise<void> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: KEY.rateSignal(scope),
            last_cut: signal.lastCut,
            factor: signal.factor,
            hit_at: signal.hitAt,
            // Kept a day after the cut: a scope that stopped sending leaves nothing behind.
            [TTL_ATTRIBUTE]: Math.floor(signal.lastCut / 1000) + 86_400,
          },
          // One burst of 429s, met by several workers at once, is one cut.
          ConditionExpression: "attribute_not_exists(pk) OR last_cut < :earliest",
          ExpressionAttributeValues: { ":earliest": signal.lastCut - spacingMs },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
