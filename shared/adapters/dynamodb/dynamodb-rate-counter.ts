import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { CampaignUsage, RateCounter, RateSignal, RateTake, RateUsage } from "../../domain/rate/rate-governor.js";
import { getItem, isConditionalCheckFailed } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { num } from "./item.js";
import { KEY, TTL_ATTRIBUTE } from "./table-definition.js";

/** Attribute-name prefixes of a campaign's counts in a second's item: taken, asked, its rate. */
const TAKEN = "t:";
const ASKED = "a:";
const RATE = "r:";

/**
 * `RateCounter` on the single table: one item `RATE#{scope}#{epochSecond}` per merchant and second, updated with
 * atomic ADDs by every worker and API environment (docs/aws-notes.md#distributed-counter-in-dynamodb): `n` every token
 * taken, `i` the interactive ones (`ia` asked), and per campaign `t:{id}` taken, `a:{id}` asked, `r:{id}` its rate. A take answers
 * the whole item (ALL_NEW), which is how a taker sees the other campaigns active this second. An acquisition is one
 * UpdateItem for an interactive send, two for a campaign (its ask, then its tokens to its own count and the total at
 * once), a third only when tokens are given back; ≈ 1 WCU each (an item of a few campaigns stays far under 1 KB), one key per second far below
 * DynamoDB's 1,000 WCU/s per partition. TTL removes the items two minutes later.
 */
export class DynamoDbRateCounter implements RateCounter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async take(scope: string, epochSecond: number, take: RateTake): Promise<RateUsage> {
    const campaign = take.campaign;
    const { Attributes } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: KEY.rate(scope, epochSecond) },
        // No condition: the counter may pass the budget; the governor keeps only what fits and gives back the rest.
        UpdateExpression: campaign
          ? "ADD #t :tokens, #a :asked SET #r = :rate, #ttl = if_not_exists(#ttl, :ttl)"
          : "ADD #n :tokens, #i :tokens, #ia :asked SET #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames: {
          "#ttl": TTL_ATTRIBUTE,
          ...(campaign
            ? { "#t": TAKEN + campaign.id, "#a": ASKED + campaign.id, "#r": RATE + campaign.id }
            : { "#n": "n", "#i": "i", "#ia": "ia" }),
        },
        ExpressionAttributeValues: {
          ":tokens": take.tokens,
          ":ttl": epochSecond + 120,
          ":asked": take.asked,
          ...(campaign ? { ":rate": campaign.ratePerSecond } : {}),
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return usageOf(Attributes ?? {});
  }

  async commit(
    scope: string,
    epochSecond: number,
    tokens: number,
    campaignId: string,
  ): Promise<{ total: number; own: number }> {
    const own = TAKEN + campaignId;
    const { Attributes } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: KEY.rate(scope, epochSecond) },
        UpdateExpression: "ADD #n :tokens, #t :tokens SET #ttl = if_not_exists(#ttl, :ttl)",
        ExpressionAttributeNames: { "#n": "n", "#t": own, "#ttl": TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ":tokens": tokens, ":ttl": epochSecond + 120 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return { total: Number(Attributes?.n ?? 0), own: Number(Attributes?.[own] ?? 0) };
  }

  async giveBack(
    scope: string,
    epochSecond: number,
    back: { total: number; own: number; campaignId?: string },
  ): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: KEY.rate(scope, epochSecond) },
        UpdateExpression: "ADD #n :total, #c :own",
        ExpressionAttributeNames: { "#n": "n", "#c": back.campaignId === undefined ? "i" : TAKEN + back.campaignId },
        ExpressionAttributeValues: { ":total": -back.total, ":own": -back.own },
      }),
    );
  }

  async usage(scope: string, epochSecond: number): Promise<RateUsage | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.rate(scope, epochSecond));
    return item === undefined ? undefined : usageOf(item);
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

function usageOf(item: Record<string, unknown>): RateUsage {
  const campaigns = new Map<string, CampaignUsage>();
  const campaign = (id: string) => {
    const usage = campaigns.get(id) ?? { taken: 0, asked: 0, ratePerSecond: 0 };
    campaigns.set(id, usage);
    return usage;
  };
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(TAKEN)) campaign(name.slice(TAKEN.length)).taken = Number(value);
    else if (name.startsWith(ASKED)) campaign(name.slice(ASKED.length)).asked = Number(value);
    else if (name.startsWith(RATE)) campaign(name.slice(RATE.length)).ratePerSecond = Number(value);
  }
  return {
    total: Number(item["n"] ?? 0),
    interactive: Number(item["i"] ?? 0),
    interactiveAsked: Number(item["ia"] ?? 0),
    campaigns,
  };
}
