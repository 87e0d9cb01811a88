import type { CampaignRecord, CampaignStore, Clock, SendMessage, SendQueue } from "../ports.js";
import { requestHash } from "../sends/request-hash.js";
import { deriveCampaignId, recipientOutRequestNo } from "./campaign-keys.js";

export interface CreateCampaignCommand {
  mchid: string;
  stockId: string;
  appid: string;
  /** Already validated; duplicates are removed here (one coupon per openid per campaign). */
  openids: readonly string[];
  ratePerSecond: number;
  campaignId?: string;
}

export interface CreateCampaignResult {
  campaign: CampaignRecord;
  /** true when this exact campaign had been submitted before (nothing new was created). */
  replayed: boolean;
  duplicatesRemoved: number;
}

export interface CampaignDependencies {
  campaigns: CampaignStore;
  queue: SendQueue;
  clock: Clock;
}

/**
 * Accepts a one-shot bulk send (a campaign of one chunk, sealed at once): stores the campaign, then queues one message per recipient with a deterministic
 * out_request_no. A re-post of the same campaign re-queues only if the first post did not finish queueing; the
 * worker's ledger makes any repeated message harmless.
 */
export async function createCampaign(
  deps: CampaignDependencies,
  command: CreateCampaignCommand,
): Promise<CreateCampaignResult> {
  const openids = [...new Set(command.openids)];
  const { mchid, stockId, appid, ratePerSecond } = command;
  const id = command.campaignId ?? deriveCampaignId({ mchid, stockId, appid, openids });
  const hash = requestHash({ mchid, stockId, appid, openids, ratePerSecond });
  const now = deps.clock();
  const { created, record } = await deps.campaigns.create({
    id,
    requestHash: hash,
    mchid,
    stockId,
    appid,
    ratePerSecond,
    total: openids.length,
    createdAt: now,
  });
  const duplicatesRemoved = command.openids.length - openids.length;
  if (!created && record.enqueued >= record.total) return { campaign: record, replayed: true, duplicatesRemoved };

  const messages: SendMessage[] = openids.map((openid) => ({
    mchid,
    outRequestNo: recipientOutRequestNo(id, openid, 0),
    campaignId: id,
    stockId,
    openid,
    appid,
    ratePerSecond,
  }));
  await deps.queue.enqueue(messages);
  const campaign = await deps.campaigns.markEnqueued(id, messages.length, deps.clock());
  return { campaign, replayed: !created, duplicatesRemoved };
}

export interface OpenCampaignCommand {
  mchid: string;
  stockId: string;
  appid: string;
  ratePerSecond: number;
  /** Required: without openids there is nothing to derive an id from, and the id is what makes a retry a replay. */
  campaignId: string;
}

/**
 * Opens a chunked campaign: total 0, not sealed; recipients arrive with `addCampaignChunk` and the chunk marked last
 * seals it. Opening it again with the same fields is a replay (a resumed upload does that); other fields under the
 * same id are a conflict.
 */
export async function openCampaign(
  deps: CampaignDependencies,
  command: OpenCampaignCommand,
): Promise<CreateCampaignResult> {
  const { mchid, stockId, appid, ratePerSecond, campaignId } = command;
  const { created, record } = await deps.campaigns.create({
    id: campaignId,
    requestHash: requestHash({ mchid, stockId, appid, ratePerSecond, chunked: true }),
    mchid,
    stockId,
    appid,
    ratePerSecond,
    total: 0,
    chunked: true,
    createdAt: deps.clock(),
  });
  return { campaign: record, replayed: !created, duplicatesRemoved: 0 };
}
