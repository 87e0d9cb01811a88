import type { CampaignRecord, CampaignStore, Clock, RetryOrigin, SendMessage, SendQueue } from "../ports.js";
import { requestHash } from "../sends/request-hash.js";
import { deriveCampaignId, recipientOutRequestNo } from "./campaign-keys.js";
import { checkStartAt } from "./campaign-lifecycle.js";

export interface CreateCampaignCommand {
  mchid: string;
  stockId: string;
  appid: string;
  /** Already validated; duplicates are removed here (one coupon per openid per campaign). */
  openids: readonly string[];
  ratePerSecond: number;
  campaignId?: string;
  /** Epoch ms: no send starts before (a scheduled campaign). In the future and at most 30 days ahead. */
  startAt?: number;
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
  const { mchid, stockId, appid, ratePerSecond, startAt } = command;
  const id = command.campaignId ?? deriveCampaignId({ mchid, stockId, appid, openids });
  // start_at joins the hash only when given, so unscheduled campaigns keep the hashes they always had.
  const hash = requestHash({
    mchid,
    stockId,
    appid,
    openids,
    ratePerSecond,
    ...(startAt === undefined ? {} : { startAt }),
  });
  const now = deps.clock();
  await checkSchedule(deps, id, hash, startAt, now);
  const { created, record } = await deps.campaigns.create({
    id,
    requestHash: hash,
    mchid,
    stockId,
    appid,
    ratePerSecond,
    total: openids.length,
    ...(startAt === undefined ? {} : { startAt }),
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
  startAt?: number;
  /** A retry campaign (shared/domain/campaigns/retry-campaign.ts): the failures it re-sends. */
  retryOf?: RetryOrigin;
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
  const { mchid, stockId, appid, ratePerSecond, campaignId, startAt, retryOf } = command;
  const hash = requestHash({
    mchid,
    stockId,
    appid,
    ratePerSecond,
    chunked: true,
    ...(startAt === undefined ? {} : { startAt }),
    ...(retryOf === undefined ? {} : { retryOf }),
  });
  const now = deps.clock();
  await checkSchedule(deps, campaignId, hash, startAt, now);
  const { created, record } = await deps.campaigns.create({
    id: campaignId,
    requestHash: hash,
    mchid,
    stockId,
    appid,
    ratePerSecond,
    total: 0,
    chunked: true,
    ...(startAt === undefined ? {} : { startAt }),
    ...(retryOf === undefined ? {} : { retryOf }),
    createdAt: now,
  });
  return { campaign: record, replayed: !created, duplicatesRemoved: 0 };
}

/**
 * Refuses a start_at in the past or too far ahead, except on a replay: the same campaign posted again after its
 * start time answers as stored (the time rule must not turn a retry into a 400).
 */
async function checkSchedule(
  deps: CampaignDependencies,
  id: string,
  hash: string,
  startAt: number | undefined,
  now: number,
): Promise<void> {
  if (startAt === undefined) return;
  try {
    checkStartAt(startAt, now);
  } catch (error) {
    const stored = await deps.campaigns.get(id);
    if (stored?.requestHash !== hash) throw error;
  }
}
