import { outcomeTally } from "../campaigns/outcome-tally.js";
import { reconcileCampaign } from "../campaigns/reconcile-campaign.js";
import { recordIssuedCoupon } from "../coupons/coupon-lifecycle.js";
import { type CouponGateway, GatewayError } from "../gateway.js";
import { type AfterFinal, type KeyedOutcome, type Recovery, runKeyedCall } from "../keyed-call.js";
import type {
  CampaignCounts,
  CampaignRecord,
  CampaignStore,
  Clock,
  CouponStore,
  SendKey,
  SendLedger,
  SendRecord,
} from "../ports.js";
import { type StockReads, stockHoldFor } from "../stocks/stock-check.js";
import { MerchantHoldError, merchantHoldReason } from "./failure-policy.js";
import { requestHash } from "./request-hash.js";

export interface SendDependencies {
  ledger: SendLedger;
  campaigns: CampaignStore;
  /** Where each issued coupon's lifecycle record is created, before its send is recorded SENT. */
  coupons: CouponStore;
  gateway: CouponGateway;
  clock: Clock;
  /** How long one worker may hold the right to call WeChat for a send: longer than the client's whole retry budget. */
  leaseMs: number;
  /** Adds outcomes to a campaign's counters; default one `recordOutcomes` per send (the worker batches them). */
  countOutcome?: (campaignId: string, tally: CampaignCounts) => Promise<CampaignRecord>;
  /** Recounts a campaign whose counters claim completion; default `reconcileCampaign` (the worker coalesces). */
  reconcile?: (campaignId: string) => Promise<unknown>;
  /** Stock reads shared by the sends of one worker batch: the refusals of a stock that stopped ask WeChat once. */
  stockReads?: StockReads;
  /**
   * Asked by the gateway right before the send's request, the lease held (`CouponGateway.sendCoupon`): the worker's
   * campaign gate. Must not throw (answer false instead).
   */
  beforeRequest?: () => Promise<boolean>;
}

export interface SendCommand extends SendKey {
  stockId: string;
  openid: string;
  appid: string;
  stockCreatorMchid: string;
  campaignId?: string;
  /**
   * A refusal for the stock (not running, not started, budget exhausted for now) or the merchant (not permitted,
   * appid not bound) is recorded final as WeChat gave it, rather than held: a cancelled campaign's send that had
   * already been claimed ends here.
   */
  holdsFinal?: boolean;
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
 * the campaign before its record turns final. Used by both `POST /coupons` and the send worker. `beforeCall`: see
 * `KeyedCall.beforeCall`.
 */
export function sendCoupon(
  deps: SendDependencies,
  command: SendCommand,
  options: { beforeCall?: () => Promise<boolean> } = {},
): Promise<SendOutcome> {
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
    // A campaign's recipients are written PENDING before they are queued (campaign-recipients.ts).
    prepared: campaignId !== undefined,
    conflictMessage: `out_request_no ${outRequestNo} was already used for a different request (stock, openid or appid differ)`,
    call: () => sendOrExplain(deps, command),
    // With the lease held, right before the call: the send's rate token is taken (a worker's send) or checked (POST /coupons).
    ...(options.beforeCall ? { beforeCall: options.beforeCall } : {}),
    recover: (record) => findIssued(deps, command, record),
    beforeFinal: async (outcome) => {
      if (!outcome.failed) await recordIssued(deps, command, outcome.success.couponId);
      if (!campaignId) return undefined;
      return countInCampaign(
        deps,
        campaignId,
        outcome.failed ? outcomeTally("FAILED", outcome.code) : outcomeTally("SENT"),
      );
    },
  });
}

/**
 * The send, with a refusal that may concern the stock or the merchant rather than the recipient explained
 * (`stockHoldFor`, `merchantHoldReason`): thrown as a `StockHoldError` or `MerchantHoldError`, which the failure
 * policy holds instead of recording final.
 */
async function sendOrExplain(deps: SendDependencies, command: SendCommand): Promise<{ couponId: string }> {
  try {
    return await deps.gateway.sendCoupon(command, deps.beforeRequest);
  } catch (error) {
    if (command.holdsFinal || !(error instanceof GatewayError)) throw error;
    const merchant = merchantHoldReason(error);
    if (merchant !== undefined) throw new MerchantHoldError(merchant, error.message, { cause: error });
    const { stockId, stockCreatorMchid } = command;
    const call = { stockId, stockCreatorMchid };
    throw (await stockHoldFor(deps.gateway, call, error, deps.clock(), deps.stockReads)) ?? error;
  }
}

/**
 * The coupon's lifecycle record (shared/domain/coupons/coupon-lifecycle.ts), written before the send is recorded
 * SENT: a crash in between leaves the send PENDING, its retry gets the same coupon_id from WeChat (out_request_no is
 * de-duplicated) and writes the same record again, which is a no-op.
 */
async function recordIssued(deps: SendDependencies, command: SendCommand, couponId: string): Promise<void> {
  const { mchid, outRequestNo, stockId, openid, appid, campaignId } = command;
  await recordIssuedCoupon(
    { coupons: deps.coupons, clock: deps.clock },
    {
      couponId,
      stockId,
      mchid,
      outRequestNo,
      openid,
      appid,
      ...(campaignId ? { campaignId } : {}),
      sentAt: deps.clock(),
    },
  );
}

/** How far WeChat's clock may run behind ours when a coupon's receive time is compared with a record's creation. */
const CLOCK_GRACE_MS = 60_000;

/**
 * Whether WeChat issued this send after all: the coupons of its stock the user received since the send was first
 * recorded. One is this send's; none means the failure stands; several, or a list WeChat did not answer whole, cannot
 * be told apart and are left to an operator. (The one coupon could still be another send's, to the same user and of
 * the same stock, started later: E12 answers no out_request_no to tell them apart.)
 */
async function findIssued(
  deps: SendDependencies,
  command: SendCommand,
  record: SendRecord,
): Promise<Recovery<{ couponId: string }>> {
  const { openid, stockId, appid, stockCreatorMchid } = command;
  const { coupons, complete } = await deps.gateway.findCoupons({ openid, stockId, appid, stockCreatorMchid });
  const since = record.createdAt - CLOCK_GRACE_MS;
  const candidates = coupons.filter((c) => Date.parse(c.createTime) >= since);
  if (complete && candidates.length === 0) return { status: "none" };
  if (complete && candidates.length === 1) return { status: "found", success: { couponId: candidates[0]!.couponId } };
  return {
    status: "ambiguous",
    reason: `${candidates.length} coupons of stock ${stockId} received since the send began${complete ? "" : ", list incomplete"}`,
  };
}

/** Counts one outcome; once the counters claim every send is done, they are checked against the ledger. */
async function countInCampaign(deps: SendDependencies, campaignId: string, tally: CampaignCounts): Promise<AfterFinal> {
  const campaign = deps.countOutcome
    ? await deps.countOutcome(campaignId, tally)
    : await deps.campaigns.recordOutcomes(campaignId, tally, deps.clock());
  // A reconciled campaign left the count out: its counters are the recount, which held this send as it was then. A
  // success that replaces a failure the recount counted (the lease lapsed during the call, another worker recorded
  // the refusal, the campaign completed, then this call's success came) moves that failure to sent.
  if (campaign.reconciled) {
    return async ({ replacedFailure }) => {
      if (replacedFailure) await deps.campaigns.recordLateSuccess(campaign.id, replacedFailure.code, deps.clock());
    };
  }
  // The counters may over-count (a crash between counting and the final write), never under-count.
  if (campaign.sent + campaign.failed < campaign.total) return undefined;
  return async () => {
    if (deps.reconcile) await deps.reconcile(campaign.id);
    else await reconcileCampaign({ campaigns: deps.campaigns, ledger: deps.ledger, clock: deps.clock }, campaign.id);
  };
}
