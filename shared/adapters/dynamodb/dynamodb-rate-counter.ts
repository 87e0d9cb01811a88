import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { RateCounter } from "../../domain/rate/rate-governor.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
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
}
