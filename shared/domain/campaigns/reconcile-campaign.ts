import { UNKNOWN_ERROR_CODE } from "../keyed-call.js";
import type { CampaignCounts, CampaignRecord, CampaignStore, SendLedger } from "../ports.js";
import { countersClaimDone } from "./outcome-tally.js";

export interface ReconcileDependencies {
  campaigns: CampaignStore;
  ledger: SendLedger;
  clock: () => number;
}

/**
 * Makes a campaign's counters exact. A send is counted before the write that records it final; a crash or failed
 * write between the two counts that send twice on redelivery, never zero times, so the counters reach the total no later than the sends
 * do. Once they claim completion, recount from the ledger: if every send is final, write the recount (guarded by the
 * version the counters had when the recount began) and the campaign is COMPLETED. Never before the campaign is
 * sealed: until its last chunk arrived, an open campaign's sends can catch up with a total that is still growing.
 */
export async function reconcileCampaign(deps: ReconcileDependencies, id: string): Promise<CampaignRecord | undefined> {
  const campaign = await deps.campaigns.get(id);
  if (!campaign || campaign.reconciled || !campaign.sealed) return campaign;
  if (!countersClaimDone(campaign)) return campaign;
  const counts = await recount(deps.ledger, id);
  // Sends still in flight, or the index lags.
  if (!countersClaimDone({ ...counts, total: campaign.total })) return campaign;
  await deps.campaigns.reconcile(id, counts, campaign.version, deps.clock());
  return deps.campaigns.get(id);
}

/**
 * The status read: seals an open campaign whose last chunk is known if every chunk arrived (a chunk post cut short
 * by a crash before its seal attempt leaves that to the next post, or to this read), then reconciles it: the sends
 * may all have finished before the seal, and then no send is left to trigger the reconciliation.
 */
export async function refreshCampaign(deps: ReconcileDependencies, id: string): Promise<CampaignRecord | undefined> {
  const campaign = await deps.campaigns.get(id);
  if (!campaign) return undefined;
  let sealed = campaign.sealed;
  if (!sealed && campaign.lastChunkNo !== undefined)
    sealed = (await deps.campaigns.trySeal(id, deps.clock())).record.sealed;
  // A cancelled upload gets no more chunks: its recipients are the ones received so far.
  if (!sealed && campaign.control === "CANCELLED") await deps.campaigns.sealAsIs(id, deps.clock());
  return reconcileCampaign(deps, id);
}

async function recount(ledger: SendLedger, campaignId: string): Promise<CampaignCounts> {
  const counts: CampaignCounts = { sent: 0, failed: 0, cancelled: 0, failuresByCode: {} };
  let cursor: string | undefined;
  do {
    const page = await ledger.listByCampaign(campaignId, { limit: 1_000, ...(cursor ? { cursor } : {}) });
    for (const record of page.items) {
      if (record.state === "SENT") counts.sent++;
      if (record.state === "CANCELLED") counts.cancelled = (counts.cancelled ?? 0) + 1;
      if (record.state === "FAILED") {
        counts.failed++;
        const code = record.errorCode ?? UNKNOWN_ERROR_CODE;
        counts.failuresByCode[code] = (counts.failuresByCode[code] ?? 0) + 1;
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return counts;
}
