import type { CouponGateway } from "../gateway.js";
import type { CampaignRecord, CampaignStore, Clock, RetryOrigin, SendLedger, SendQueue } from "../ports.js";
import { requestHash } from "../sends/request-hash.js";
import { preflightStock, type StockCheckTarget } from "../stocks/stock-check.js";
import { deriveCampaignId } from "./campaign-keys.js";
import { checkStartAt } from "./campaign-lifecycle.js";
import { queueRecipients } from "./campaign-recipients.js";

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
  /** Where each recipient's PENDING send record is written before its message is queued. */
  ledger: SendLedger;
  queue: SendQueue;
  clock: Clock;
  /** The stock query of the pre-flight (E8). */
  gateway: Pick<CouponGateway, "getStock">;
}

/**
 * Accepts a one-shot bulk send (a campaign of one chunk, sealed at once): checks it (start_at, then the stock with
 * WeChat: `preflightStock`), stores the campaign, then writes a PENDING send record per recipient and queues one
 * message each, with a deterministic out_request_no (`queueRecipients`). A re-post of the same campaign re-queues only
 * if the first post did not finish queueing; the
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
  await checkNew(deps, id, { mchid, stockId, recipients: openids.length, ...startAtOf(startAt) }, now);
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

  const queued = await queueRecipients(deps, record, { openids, chunkNo: 0, fresh: created }, deps.clock());
  const campaign = await deps.campaigns.markEnqueued(id, queued, deps.clock());
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
  // Its recipients are not known yet: the stock must have budget left at all.
  await checkNew(deps, campaignId, { mchid, stockId, ...startAtOf(startAt) }, now);
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
 * The checks of a campaign not seen before: start_at in the future and not too far ahead, then the stock with WeChat
 * (exists, the merchant's, running, inside its time window, budget left). A replay (the same id and request, e.g. a
 * retry after start_at passed or after the stock ran dry) skips them and answers as stored; the same id for another
 * request is left to `create`, which answers the conflict.
 */
async function checkNew(deps: CampaignDependencies, id: string, target: StockCheckTarget, now: number): Promise<void> {
  if ((await deps.campaigns.get(id)) !== undefined) return;
  if (target.startAt !== undefined) checkStartAt(target.startAt, now);
  await preflightStock(deps.gateway, target, now);
}

const startAtOf = (startAt: number | undefined) => (startAt === undefined ? {} : { startAt });
