import { UNKNOWN_ERROR_CODE } from "../keyed-call.js";
import type { CampaignCounts, CampaignRecord, CampaignStore, SendLedger, SendRecord } from "../ports.js";
import { countersClaimDone } from "./outcome-tally.js";

export interface ReconcileDependencies {
  campaigns: CampaignStore;
  ledger: SendLedger;
  clock: () => number;
}

/**
 * Campaigns of at most this many recipients are recounted inline, by the send that counted the last outcome (one
 * ledger page): a small campaign completes as soon as its last send does. Larger ones are recounted by the sweeper
 * a page per step (shared/domain/campaigns/sweep-campaigns.ts), so no invocation reads a whole big campaign.
 */
export const INLINE_RECOUNT_MAX = 1_000;

/**
 * Makes a small campaign's counters exact (at most INLINE_RECOUNT_MAX recipients; larger ones are the sweeper's). A
 * send is counted before the write that records it final; a crash or failed write between the two counts that send
 * twice on redelivery, never zero times, so the counters reach the total no later than the sends do. Once they claim
 * completion, recount from the ledger: if every send is final, write the recount (guarded by the version the counters
 * had when the recount began) and the campaign is COMPLETED. Never before the campaign is sealed: until its last
 * chunk arrived, an open campaign's sends can catch up with a total that is still growing.
 */
export async function reconcileCampaign(deps: ReconcileDependencies, id: string): Promise<CampaignRecord | undefined> {
  const campaign = await deps.campaigns.get(id);
  if (!campaign || campaign.reconciled || !campaign.sealed) return campaign;
  if (campaign.total > INLINE_RECOUNT_MAX || !countersClaimDone(campaign)) return campaign;
  const counts = await recount(deps.ledger, id);
  // Sends still in flight, or the index lags.
  if (!countersClaimDone({ ...counts, total: campaign.total })) return campaign;
  await deps.campaigns.reconcile(id, counts, campaign.version, deps.clock());
  return deps.campaigns.get(id);
}

/**
 * After a cancel: a cancelled upload gets no more chunks, so it is sealed with the recipients received so far (one
 * write), then a small campaign whose sends are all final completes at once. Bounded work; a chunk post cut short
 * before its seal attempt, and big campaigns, are the sweeper's.
 */
export async function refreshCampaign(deps: ReconcileDependencies, id: string): Promise<CampaignRecord | undefined> {
  const campaign = await deps.campaigns.get(id);
  if (!campaign) return undefined;
  if (!campaign.sealed && campaign.control === "CANCELLED") await deps.campaigns.sealAsIs(id, deps.clock());
  return reconcileCampaign(deps, id);
}

async function recount(ledger: SendLedger, campaignId: string): Promise<CampaignCounts> {
  const counts: CampaignCounts = { sent: 0, failed: 0, cancelled: 0, failuresByCode: {} };
  let cursor: string | undefined;
  do {
    const page = await ledger.listByCampaign(campaignId, { limit: INLINE_RECOUNT_MAX, ...(cursor ? { cursor } : {}) });
    for (const record of page.items) countFinal(counts, record);
    cursor = page.cursor;
  } while (cursor);
  return counts;
}

/** Adds a final record to `counts` (in place); false for a PENDING one, which counts nowhere. */
export function countFinal(counts: CampaignCounts, record: SendRecord): boolean {
  if (record.state === "PENDING") return false;
  if (record.state === "SENT") counts.sent++;
  if (record.state === "CANCELLED") counts.cancelled = (counts.cancelled ?? 0) + 1;
  if (record.state === "FAILED") {
    counts.failed++;
    const code = record.errorCode ?? UNKNOWN_ERROR_CODE;
    counts.failuresByCode[code] = (counts.failuresByCode[code] ?? 0) + 1;
  }
  return true;
}
