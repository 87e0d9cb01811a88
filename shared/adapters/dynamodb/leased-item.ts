import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ErrorInfo, LeaseResult } from "../../domain/ports.js";
import { and, CONDITION, conditionalUpdate, type Item, isConditionalCheckFailed } from "./conditional.js";

/** Lease operations shared by the send ledger and the stock-request ledger (same attribute names). */
export async function acquireLeaseItem<R>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  now: number,
  leaseMs: number,
  fromItem: (item: Item) => R,
): Promise<LeaseResult<R>> {
  const update = await conditionalUpdate(doc, tableName, pk, {
    UpdateExpression: "SET #lease_until = :until, #updated_at = :now ADD #attempts :one",
    // Only a PENDING record whose lease has lapsed can be taken: a live lease means a WeChat call is in flight.
    ConditionExpression: and(CONDITION.exists, CONDITION.pending, CONDITION.leaseExpired),
    ExpressionAttributeNames: {
      "#state": "state",
      "#lease_until": "lease_until",
      "#updated_at": "updated_at",
      "#attempts": "attempts",
    },
    ExpressionAttributeValues: { ":pending": "PENDING", ":now": now, ":until": now + leaseMs, ":one": 1 },
  });
  if (update.changed) return { status: "acquired", record: fromItem(update.item) };
  if (update.existing === undefined) return { status: "missing" };
  const record = fromItem(update.existing);
  if (update.existing.state !== "PENDING") return { status: "final", record };
  // Re-read may show a lease that expired since the write failed; still report busy (the caller retries later).
  return { status: "busy", record };
}

/**
 * Records the success of a leased item once (state `succeeded`, with `fields`, lease and last error cleared). PENDING
 * and FAILED may both move to it: a late success beats a recorded failure because the coupon or stock exists. A
 * refused update returns the item as it is, for the caller to compare.
 */
export function succeedLeasedItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  succeeded: string,
  fields: Record<string, unknown>,
  now: number,
) {
  const { names, values, sets } = fieldUpdates(fields);
  return conditionalUpdate(doc, tableName, pk, {
    UpdateExpression: `SET #state = :succeeded, ${sets.join(", ")}, #lease_until = :zero, #updated_at = :now REMOVE #error_code, #error_message`,
    ConditionExpression: and(CONDITION.exists, CONDITION.notSucceeded),
    ExpressionAttributeNames: {
      "#state": "state",
      "#lease_until": "lease_until",
      "#updated_at": "updated_at",
      "#error_code": "error_code",
      "#error_message": "error_message",
      ...names,
    },
    ExpressionAttributeValues: { ":succeeded": succeeded, ":zero": 0, ":now": now, ...values },
  });
}

/**
 * PENDING → FAILED with `error` (and `fields`), once: a succeeded item stays succeeded, a FAILED one keeps its first
 * code.
 */
export function failLeasedItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  error: ErrorInfo,
  now: number,
  fields: Record<string, unknown> = {},
) {
  const { names, values, sets } = fieldUpdates(fields);
  return conditionalUpdate(doc, tableName, pk, {
    UpdateExpression: `SET #state = :failed, #error_code = :code, #error_message = :message, #lease_until = :zero, #updated_at = :now${sets.map((set) => `, ${set}`).join("")}`,
    ConditionExpression: and(CONDITION.exists, CONDITION.pending),
    ExpressionAttributeNames: {
      "#state": "state",
      "#error_code": "error_code",
      "#error_message": "error_message",
      "#lease_until": "lease_until",
      "#updated_at": "updated_at",
      ...names,
    },
    ExpressionAttributeValues: {
      ":failed": "FAILED",
      ":pending": "PENDING",
      ":code": error.code,
      ":message": error.message,
      ":zero": 0,
      ":now": now,
      ...values,
    },
  });
}

/** `#name = :name` assignments for plain attribute names. */
function fieldUpdates(fields: Record<string, unknown>) {
  return {
    names: Object.fromEntries(Object.keys(fields).map((name) => [`#${name}`, name])),
    values: Object.fromEntries(Object.entries(fields).map(([name, value]) => [`:${name}`, value])),
    sets: Object.keys(fields).map((name) => `#${name} = :${name}`),
  };
}

export async function releaseLeaseItem(
  doc: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  leaseUntil: number,
  now: number,
  lastError: ErrorInfo | undefined,
): Promise<boolean> {
  const setError = lastError === undefined ? "" : ", #error_code = :code, #error_message = :message";
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk },
        UpdateExpression: `SET #lease_until = :zero, #updated_at = :now${setError}`,
        // Fenced on the caller's own lease: a worker whose lease expired must not free the next worker's lease.
        ConditionExpression: and(CONDITION.exists, CONDITION.pending, CONDITION.leaseHeldBy),
        ExpressionAttributeNames: {
          "#state": "state",
          "#lease_until": "lease_until",
          "#updated_at": "updated_at",
          ...(lastError === undefined ? {} : { "#error_code": "error_code", "#error_message": "error_message" }),
        },
        ExpressionAttributeValues: {
          ":pending": "PENDING",
          ":lease": leaseUntil,
          ":zero": 0,
          ":now": now,
          ...(lastError === undefined ? {} : { ":code": lastError.code, ":message": lastError.message }),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Reads an optional string attribute. */
export const optionalString = (item: Item, name: string): string | undefined =>
  typeof item[name] === "string" ? (item[name] as string) : undefined;

export const num = (item: Item, name: string): number => Number(item[name] ?? 0);
export const str = (item: Item, name: string): string => String(item[name] ?? "");
