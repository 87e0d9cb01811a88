import { UNKNOWN_ERROR_CODE } from "../keyed-call.js";
import type { CampaignCounts, SendState } from "../ports.js";

/** The counters of one final outcome, for `CampaignStore.recordOutcomes`. */
export function outcomeTally(state: Exclude<SendState, "PENDING">, errorCode?: string): CampaignCounts {
  if (state === "SENT") return { sent: 1, failed: 0, failuresByCode: {} };
  if (state === "CANCELLED") return { sent: 0, failed: 0, cancelled: 1, failuresByCode: {} };
  return { sent: 0, failed: 1, failuresByCode: { [errorCode ?? UNKNOWN_ERROR_CODE]: 1 } };
}

/** Adds `more` into `into` (in place) and returns it. */
export function addTally(into: CampaignCounts, more: CampaignCounts): CampaignCounts {
  into.sent += more.sent;
  into.failed += more.failed;
  if (more.cancelled) into.cancelled = (into.cancelled ?? 0) + more.cancelled;
  for (const [code, n] of Object.entries(more.failuresByCode)) {
    into.failuresByCode[code] = (into.failuresByCode[code] ?? 0) + n;
  }
  return into;
}

/** Every recipient has (at least) a counted outcome: the counters may over-count, so this is when to recount. */
export function countersClaimDone(c: { sent: number; failed: number; cancelled?: number; total: number }): boolean {
  return c.sent + c.failed + (c.cancelled ?? 0) >= c.total;
}
