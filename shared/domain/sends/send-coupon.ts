import { outcomeTally } from "../campaigns/outcome-tally.js";
import { reconcileCampaign } from "../campaigns/reconcile-campaign.js";
import type { CouponGateway } from "../gateway.js";
import { type AfterFinal, type KeyedOutcome, runKeyedCall } from "../keyed-call.js";
import type {
  CampaignCounts,
  CampaignRecord,
  CampaignStore,
  Clock,
  SendKey,
  SendLedger,
  SendRecord,
} from "../ports.js";
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

/** `SENT` (the coupon is in `record.couponId`), `FAILED`, `RETRY` or `IN_PROGRESS`: see `KeyedOutcome`. */
export type SendOutcome = KeyedOutcome<SendRecord>;

/** The business fields that make two sends "the same request". */
export function sendRequestHash(command: SendCommand): string {
  const { stockId, openid, appid, stockCreatorMchid } = command;
  return requestHash({ stockId, openid, appid, stockCreatorMchid });
}

/**
 * Sends one coupon at most once per (mchid, out_request_no) (see `runKeyedCall`). A campaign's send is counted in
 * the campaign before its record turns final. Used by both `POST /coupons` and the send worker.
 */
export function sendCoupon(deps: SendDependencies, command: SendCommand): Promise<SendOutcome> {
  const { mchid, outRequestNo, stockId, openid, appid, campaignId } = command;
  return runKeyedCall({
    ledger: deps.ledger,
    clock: deps.clock,
    leaseMs: deps.leaseMs,
    claim: {
      mchid,
      outRequestNo,
      requestHash: sendRequestHash(command),
      stockId,
      openid,
      appid,
      ...(campaignId ? { campaignId } : {}),
      createdAt: deps.clock(),
    },
    conflictMessage: `out_request_no ${outRequestNo} was already used for a different request (stock, openid or appid differ)`,
    call: () => deps.gateway.sendCoupon(command),
    beforeFinal: campaignId
      ? (outcome) =>
          countInCampaign(
            deps,
            campaignId,
            outcome.failed ? outcomeTally("FAILED", outcome.code) : outcomeTally("SENT"),
          )
      : undefined,
  });
}

/** Counts one outcome; once the counters claim every send is done, they are checked against the ledger. */
async function countInCampaign(deps: SendDependencies, campaignId: string, tally: CampaignCounts): Promise<AfterFinal> {
  const campaign = deps.countOutcome
    ? await deps.countOutcome(campaignId, tally)
    : await deps.campaigns.recordOutcomes(campaignId, tally, deps.clock());
  // The counters may over-count (a crash between counting and the final write), never under-count.
  if (campaign.reconciled || campaign.sent + campaign.failed < campaign.total) return undefined;
  return async () => {
    if (deps.reconcile) await deps.reconcile(campaign.id);
    else await reconcileCampaign({ campaigns: deps.campaigns, ledger: deps.ledger, clock: deps.clock }, campaign.id);
  };
}
