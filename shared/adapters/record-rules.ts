import { ConflictError } from "../domain/errors.js";
import type { NewSendRecord, NewStockRequestRecord, SendRecord, StockRequestRecord } from "../domain/ports.js";

// Rules every implementation of a port shares (in-memory reference and AWS adapters alike), kept in one place so
// the implementations cannot drift apart.

/**
 * The record a ledger's `claim` creates, identical for every implementation: PENDING, and leased to the claimant
 * (attempts 1) when `leaseMs` is given, so the synchronous path can call WeChat without a second write.
 */
export function newSendRecord(input: NewSendRecord, leaseMs: number | undefined): SendRecord {
  // The new-record types hold only strings and numbers: a spread is a whole copy.
  return { ...input, state: "PENDING", counted: false, ...initialLease(input.createdAt, leaseMs) };
}

export function newStockRequestRecord(input: NewStockRequestRecord, leaseMs: number | undefined): StockRequestRecord {
  return { ...input, state: "PENDING", ...initialLease(input.createdAt, leaseMs) };
}

function initialLease(createdAt: number, leaseMs: number | undefined) {
  const leased = leaseMs !== undefined && leaseMs > 0;
  return { attempts: leased ? 1 : 0, leaseUntil: leased ? createdAt + leaseMs : 0, updatedAt: createdAt };
}

export function campaignConflict(): ConflictError {
  return new ConflictError(
    "CAMPAIGN_ID_REUSED",
    "campaign_id",
    "this campaign id was already used for a different request",
  );
}

/** Order of a coupon's notifications (the DynamoDB adapter's gsi1 sort key): WeChat's create_time, then the id. */
export const notificationOrder = (r: { createTime: string; id: string }): string => `${r.createTime}#${r.id}`;

/** SQS accepts visibility timeouts of 0–43200 s (12 h), whole seconds. */
export function clampVisibility(seconds: number): number {
  if (!Number.isFinite(seconds)) return 0;
  return Math.min(43_200, Math.max(0, Math.round(seconds)));
}
