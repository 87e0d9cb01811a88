import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Item } from "./item.js";

export function isConditionalCheckFailed(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string } | null)?.name === "ConditionalCheckFailedException"
  );
}

/**
 * The item as it was when a conditional write failed. Writes ask for `ReturnValuesOnConditionCheckFailure: ALL_OLD`,
 * which DynamoDB (and DynamoDB Local) honour, returning the item still marshalled even through the DocumentClient;
 * dynalite ignores it, so fall back to a strongly consistent GetItem (as Powertools idempotency does).
 * `undefined`: there is no item (the condition failed on `attribute_exists(pk)`).
 */
export async function itemAfterConditionFailure(
  error: ConditionalCheckFailedException,
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
): Promise<Item | undefined> {
  const returned = (error as { Item?: Record<string, unknown> }).Item;
  if (returned !== undefined && Object.keys(returned).length > 0) {
    // Marshalled values are AttributeValue objects ({S: "…"}); pk is always a string attribute.
    return typeof returned.pk === "object" ? unmarshall(returned as Parameters<typeof unmarshall>[0]) : returned;
  }
  return getItem(doc, tableName, pk);
}

export async function getItem(doc: DynamoDBDocumentClient, tableName: string, pk: string): Promise<Item | undefined> {
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }));
  return Item;
}

/**
 * Named condition fragments. Each says, in DynamoDB's expression language, one rule of the ledgers; the adapters
 * combine them with AND and pass the matching names/values (`#state`, `:pending`, …) from `CONDITION_NAMES`.
 */
export const CONDITION = {
  /** First writer wins: the uniqueness of an idempotency key. */
  absent: "attribute_not_exists(pk)",
  /** Updates never create items (UpdateItem would otherwise upsert a half-empty record). */
  exists: "attribute_exists(pk)",
  /** Only a PENDING record may be worked on or failed. */
  pending: "#state = :pending",
  /** A lease is free once its time has passed (0 = never leased). */
  leaseExpired: "#lease_until <= :now",
  /** Fencing: only the holder of this exact lease may release it. */
  leaseHeldBy: "#lease_until = :lease",
} as const;

export const and = (...fragments: string[]): string => fragments.map((f) => `(${f})`).join(" AND ");

/**
 * First writer wins: puts `item` unless an item with its `pk` exists, and otherwise returns that item as it is (for
 * the caller to replay or refuse). The uniqueness of every idempotency key in the table rests on this one write.
 */
export async function putIfAbsent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Item,
  options: { readBack?: true },
): Promise<{ created: true } | { created: false; existing: Item }>;
/** `readBack: false`: the caller does not want the existing item (`existing` is then undefined, nothing is read). */
export async function putIfAbsent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Item,
  options: { readBack: false },
): Promise<{ created: boolean }>;
export async function putIfAbsent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Item,
): Promise<{ created: true } | { created: false; existing: Item }>;
export async function putIfAbsent(
  doc: DynamoDBDocumentClient,
  tableName: string,
  item: Item,
  options: { readBack?: boolean } = {},
): Promise<{ created: true } | { created: false; existing?: Item }> {
  const readBack = options.readBack !== false;
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: CONDITION.absent,
        ...(readBack ? { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const } : {}),
      }),
    );
    return { created: true };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    if (!readBack) return { created: false };
    const existing = await itemAfterConditionFailure(error, doc, tableName, String(item.pk));
    // Deleted between the failed put and the read: only possible by hand; let the caller retry.
    if (existing === undefined) throw error;
    return { created: false, existing };
  }
}

export interface ConditionalUpdate {
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * One guarded UpdateItem: the item after the update when the condition held, or the item as it was when it did not
 * (`existing` undefined: there is no item). The caller decides what a refused update means (replay, conflict, 404).
 */
export async function conditionalUpdate(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  update: ConditionalUpdate,
): Promise<{ changed: true; item: Item } | { changed: false; existing: Item | undefined }> {
  try {
    const { Attributes } = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk },
        ...update,
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { changed: true, item: Attributes ?? {} };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    return { changed: false, existing: await itemAfterConditionFailure(error, doc, tableName, pk) };
  }
}

/** Attempts at writing a batch's unprocessed items before giving up (the caller's retry repeats the whole post). */
const BATCH_WRITE_ATTEMPTS = 8;

/**
 * Puts up to 25 items with one BatchWriteItem (no conditions: it replaces items), sending again what DynamoDB
 * returns unprocessed, with back-off
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html). Throws if items are still
 * unprocessed after BATCH_WRITE_ATTEMPTS.
 */
export async function batchWriteAll(doc: DynamoDBDocumentClient, tableName: string, items: Item[]): Promise<void> {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 1; requests.length > 0; attempt++) {
    const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
    requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
    if (requests.length === 0) return;
    if (attempt >= BATCH_WRITE_ATTEMPTS) throw new Error(`${requests.length} items unprocessed after ${attempt} tries`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 25 * 2 ** attempt)));
  }
}
