import { outcomeTally, UNKNOWN_ERROR_CODE } from "../campaigns/outcome-tally.js";
import { reconcileCampaign } from "../campaigns/reconcile-campaign.js";
import { ConflictError } from "../errors.js";
import type { CouponGateway } from "../gateway.js";
import type {
  CampaignCounts,
  CampaignRecord,
  CampaignStore,
  Clock,
  SendKey,
  SendLedger,
  SendRecord,
} from "../ports.js";
import { decideAfterFailure } from "./failure-policy.js";
import { requestHash } from "./request-hash.js";

export interface SendDependencies {
  ledger: SendLedger;
  campaigns: CampaignStore;
  gateway: CouponGateway;
  clock: Clock;
  /** How long one worker may hold the right to call WeChat for a send: longer than the client's whole retry budget. */
  leaseMs: number;
  /** Adds outcomes to a campaign's counters; default one `recordOutcomes` per send (the worker batches them). */
  countOutcome?: (campaignId: string, tally: CampaignCounts) => Promise<CampaignRecord>;
  /** Recounts a campaign whose counters claim completion; default `reconcileCampaign` (the worker coalesces). */
  reconcile?: (campaignId: string) => Promise<unknown>;
}

export interface SendCommand extends SendKey {
  stockId: string;
  openid: string;
  appid: string;
  stockCreatorMchid: string;
  campaignId?: string;
}

export type SendOutcome =
  | { status: "SENT"; couponId: string; replayed: boolean; record: SendRecord }
  | { status: "FAILED"; code: string; message: string; replayed: boolean; record: SendRecord }
  /** Still PENDING after a retryable failure: call again later with the same out_request_no. */
  | {
      status: "RETRY";
      code: string;
      message: string;
      rateLimited: boolean;
      /** Keys, certificates or signatures are wrong: retrying helps only after an operator fixes them. */
      needsOperator: boolean;
      record: SendRecord;
    }
  /** Another caller holds the lease right now. */
  | { status: "IN_PROGRESS"; retryAfterMs: number; record: SendRecord };

/** The business fields that make two sends "the same request". */
export function sendRequestHash(command: SendCommand): string {
  const { stockId, openid, appid, stockCreatorMchid } = command;
  return requestHash({ stockId, openid, appid, stockCreatorMchid });
}

/**
 * Sends one coupon at most once per (mchid, out_request_no): the record is written (leased) before WeChat is called
 * and the same out_request_no is reused on every retry, so WeChat de-duplicates a call whose answer we lost.
 * Used by both `POST /coupons` and the send worker.
 */
export async function sendCoupon(deps: SendDependencies, command: SendCommand): Promise<SendOutcome> {
  const held = await takeLease(deps, command);
  if ("status" in held) return held;
  return callWechat(deps, command, held.record);
}

async function takeLease(deps: SendDependencies, command: SendCommand): Promise<{ record: SendRecord } | SendOutcome> {
  const now = deps.clock();
  const hash = sendRequestHash(command);
  const { mchid, outRequestNo, stockId, openid, appid, campaignId } = command;
  const claim = await deps.ledger.claim(
    {
      mchid,
      outRequestNo,
      requestHash: hash,
      stockId,
      openid,
      appid,
      ...(campaignId ? { campaignId } : {}),
      createdAt: now,
    },
    { leaseMs: deps.leaseMs },
  );
  if (claim.created) return { record: claim.record };
  if (claim.record.requestHash !== hash) {
    throw new ConflictError(
      "OUT_REQUEST_NO_CONFLICT",
      "out_request_no",
      `out_request_no ${outRequestNo} was already used for a different request (stock, openid or appid differ)`,
    );
  }
  if (claim.record.state !== "PENDING") return replay(deps, claim.record);
  const lease = await deps.ledger.acquireLease(command, now, deps.leaseMs);
  switch (lease.status) {
    case "acquired":
      return { record: lease.record };
    case "busy":
      return {
        status: "IN_PROGRESS",
        retryAfterMs: Math.max(lease.record.leaseUntil - now, 100),
        record: lease.record,
      };
    case "final":
      return replay(deps, lease.record);
    case "missing":
      throw new Error(`send record ${outRequestNo} vanished between claim and lease`);
  }
}

async function callWechat(deps: SendDependencies, command: SendCommand, record: SendRecord): Promise<SendOutcome> {
  let couponId: string;
  try {
    ({ couponId } = await deps.gateway.sendCoupon(command));
  } catch (error) {
    return settleFailure(deps, command, record, error);
  }
  // Store errors from here on propagate: the lease then expires and a retry asks WeChat again with the same key.
  // The campaign counts the outcome before the record turns final, in the same write as `counted`: a crash between
  // the two can only count it twice (reconciliation corrects that), never leave it uncounted.
  const campaign = await countFirst(deps, command, record, outcomeTally("SENT"));
  const change = await deps.ledger.markSent(command, couponId, deps.clock(), { counted: campaign !== undefined });
  await reconcileIfDone(deps, campaign);
  return { status: "SENT", couponId, replayed: !change.changed, record: change.record };
}

async function settleFailure(
  deps: SendDependencies,
  command: SendCommand,
  record: SendRecord,
  error: unknown,
): Promise<SendOutcome> {
  const decision = decideAfterFailure(error, record.attempts);
  if (decision.action === "fail") {
    const campaign = await countFirst(deps, command, record, outcomeTally("FAILED", decision.code));
    const change = await deps.ledger.markFailed(command, decision, deps.clock(), { counted: campaign !== undefined });
    await reconcileIfDone(deps, campaign);
    return replayOrFresh(change.record, !change.changed);
  }
  await deps.ledger.release(command, record.leaseUntil, deps.clock(), decision);
  return {
    status: "RETRY",
    code: decision.code,
    message: decision.message,
    rateLimited: decision.rateLimited,
    needsOperator: decision.needsOperator ?? false,
    record,
  };
}

/** A final record seen again: replayed (and counted now if it became final uncounted, as records once could). */
async function replay(deps: SendDependencies, record: SendRecord): Promise<SendOutcome> {
  await countUncounted(deps, record);
  return replayOrFresh(record, true);
}

function replayOrFresh(record: SendRecord, replayed: boolean): SendOutcome {
  if (record.state === "SENT") return { status: "SENT", couponId: record.couponId!, replayed, record };
  return {
    status: "FAILED",
    code: record.errorCode ?? UNKNOWN_ERROR_CODE,
    message: record.errorMessage ?? "send failed",
    replayed,
    record,
  };
}

/**
 * Counts the outcome of the send `command` (holding `record`'s lease) for its campaign, if it has one: the counters
 * after the update, or undefined. When the count fails the lease is dropped, so the retry need not wait it out.
 */
async function countFirst(
  deps: SendDependencies,
  command: SendCommand,
  record: SendRecord,
  tally: CampaignCounts,
): Promise<CampaignRecord | undefined> {
  const { campaignId } = command;
  if (!campaignId) return undefined;
  try {
    return await addToCampaign(deps, campaignId, tally);
  } catch (error) {
    await deps.ledger.release(command, record.leaseUntil, deps.clock()).catch(() => false);
    throw error;
  }
}

function addToCampaign(deps: SendDependencies, campaignId: string, tally: CampaignCounts): Promise<CampaignRecord> {
  if (deps.countOutcome) return deps.countOutcome(campaignId, tally);
  return deps.campaigns.recordOutcomes(campaignId, tally, deps.clock());
}

/** A final record written before counting moved into markSent/markFailed: count it, then mark it counted. */
async function countUncounted(deps: SendDependencies, record: SendRecord): Promise<void> {
  if (!record.campaignId || record.counted || record.state === "PENDING") return;
  const campaign = await addToCampaign(deps, record.campaignId, outcomeTally(record.state, record.errorCode));
  await deps.ledger.markCounted(record, deps.clock());
  await reconcileIfDone(deps, campaign);
}

/** Counters that claim every send is done are checked against the ledger (they may over-count, never under). */
async function reconcileIfDone(deps: SendDependencies, campaign: CampaignRecord | undefined): Promise<void> {
  if (!campaign || campaign.reconciled || campaign.sent + campaign.failed < campaign.total) return;
  if (deps.reconcile) await deps.reconcile(campaign.id);
  else await reconcileCampaign({ campaigns: deps.campaigns, ledger: deps.ledger, clock: deps.clock }, campaign.id);
}
