import { NotFoundError } from "../errors.js";
import type { CampaignRecord } from "../ports.js";
import { chunkAfterLast, chunkConflict, notChunked } from "./campaign-conflicts.js";
import { chunkHash } from "./campaign-keys.js";
import { campaignCancelled } from "./campaign-lifecycle.js";
import { queueRecipients } from "./campaign-recipients.js";
import type { CampaignDependencies } from "./create-campaign.js";

export interface AddChunkCommand {
  campaignId: string;
  /** 0, 1, 2 … in upload order; the key of the chunk's idempotency. */
  chunkNo: number;
  /** Already validated; duplicates inside the chunk are removed here. */
  openids: readonly string[];
  /** This is the last chunk: once chunks 0..chunkNo all arrived the campaign is sealed. */
  last?: boolean;
}

export interface AddChunkResult {
  campaign: CampaignRecord;
  chunkNo: number;
  /** Sends this chunk adds (its openids without duplicates). */
  accepted: number;
  duplicatesRemoved: number;
  /** true: this chunk had been accepted before (same openids); nothing was counted twice. */
  replayed: boolean;
}

/**
 * Accepts one chunk of an open campaign, idempotently per (campaign, chunk number):
 * 1. the chunk item is put if absent (same number, other openids → CHUNK_CONFLICT);
 * 2. its size is added to the campaign's total once (`countChunk` claims it);
 * 3. its recipients' PENDING send records are written and their messages queued (`queueRecipients`), then the chunk
 *    is marked enqueued. A crash between the two is healed by the replay,
 *    which queues them again (harmless: sends are idempotent on out_request_no); so is a concurrent first post;
 * 4. a chunk marked last records the last chunk number, and any chunk of a campaign whose last chunk is known tries to
 *    seal it (chunks 0..last all present → exact total, sealed).
 * Every step is safe to repeat, so the caller's answer to a failure anywhere is to post the same chunk again.
 *
 * Known limit (no transactions): a chunk numbered past the last one, posted *while* the last one is being posted, can
 * slip past the CHUNK_AFTER_LAST check and be sent outside the sealed total. Uploading in order (as the CLI does)
 * never does that.
 */
export async function addCampaignChunk(deps: CampaignDependencies, command: AddChunkCommand): Promise<AddChunkResult> {
  const { campaignId, chunkNo } = command;
  const campaign = await deps.campaigns.get(campaignId);
  if (!campaign) throw new NotFoundError("campaign_id", `no campaign ${campaignId}`);
  if (!campaign.chunked) throw notChunked();
  // A cancelled upload takes no more recipients (the cancel sealed it, or the next status read will, as it stands).
  if (campaign.control === "CANCELLED") throw campaignCancelled("given more chunks");
  if (campaign.lastChunkNo !== undefined && chunkNo > campaign.lastChunkNo) {
    throw chunkAfterLast(chunkNo, campaign.lastChunkNo);
  }
  // Named before the chunk is stored, so a refused "last" leaves nothing behind.
  if (command.last) await deps.campaigns.setLastChunk(campaignId, chunkNo, deps.clock());

  const openids = [...new Set(command.openids)];
  const hash = chunkHash(command.openids);
  const { created, record: chunk } = await deps.campaigns.putChunk({
    campaignId,
    chunkNo,
    requestHash: hash,
    count: openids.length,
    createdAt: deps.clock(),
  });
  if (chunk.requestHash !== hash) throw chunkConflict(chunkNo);
  if (!chunk.counted) await deps.campaigns.countChunk(campaignId, chunkNo, deps.clock());
  if (!chunk.enqueued) {
    await queueRecipients(deps, campaign, { openids, chunkNo, fresh: created }, deps.clock());
    await deps.campaigns.markChunkEnqueued(campaignId, chunkNo, deps.clock());
  }

  const sealed = await deps.campaigns.trySeal(campaignId, deps.clock());
  return {
    campaign: sealed.record,
    chunkNo,
    accepted: openids.length,
    duplicatesRemoved: command.openids.length - openids.length,
    replayed: !created,
  };
}
