import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import type { CouponGateway } from "../gateway.js";
import type {
  CampaignControl,
  CampaignControlReason,
  CampaignRecord,
  CampaignState,
  CampaignStore,
  Clock,
  ListPage,
  SendLedger,
} from "../ports.js";
import { preflightStock } from "../stocks/stock-check.js";
import { refreshCampaign } from "./reconcile-campaign.js";

/**
 * Why a campaign is not simply sending: `scheduled` (its start_at is ahead), `paused` (by an operator),
 * `stock_not_running` / `stock_budget_exhausted` (PAUSED by the service: WeChat refused its sends for the stock, see
 * shared/domain/stocks/stock-check.ts), `merchant_not_permitted` / `appid_not_bound` / `credentials_refused` (PAUSED by
 * the service: WeChat refused the merchant, see shared/domain/sends/failure-policy.ts), `cancelled` (CANCELLING while the unsent recipients are recorded CANCELLED,
 * then COMPLETED), `waiting_for_rate` (SENDING, but its sends waited for the merchant's send budget in the last
 * second: the rate governor's counter says so, not the record).
 */
export type CampaignStateReason = "scheduled" | "paused" | "cancelled" | "waiting_for_rate" | CampaignControlReason;

export interface CampaignStatus {
  state: CampaignState;
  reason?: CampaignStateReason;
}

/** The furthest ahead a campaign may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600 * 1000;

/** A campaign's state at `now`, with its reason. The store derives everything but SCHEDULED, which needs the time. */
export function campaignStatus(c: CampaignRecord, now: number): CampaignStatus {
  if (c.state === "COMPLETED")
    return c.control === "CANCELLED" ? { state: c.state, reason: "cancelled" } : { state: c.state };
  if (c.control === "CANCELLED") return { state: "CANCELLING", reason: "cancelled" };
  if (c.control === "PAUSED") return { state: "PAUSED", reason: c.controlReason ?? "paused" };
  if (c.startAt !== undefined && c.startAt > now) return { state: "SCHEDULED", reason: "scheduled" };
  return { state: c.state };
}

/** What the send worker does with a campaign's messages right now. */
export type SendGate =
  | { action: "send" }
  | { action: "hold"; untilMs: number | undefined; reason: "paused" | "scheduled" }
  | { action: "cancel" };

/** The worker's decision for a campaign's sends (`untilMs` undefined: until an operator resumes it). */
export function sendGate(c: CampaignRecord, now: number): SendGate {
  if (c.control === "CANCELLED") return { action: "cancel" };
  if (c.control === "PAUSED") return { action: "hold", untilMs: undefined, reason: "paused" };
  if (c.startAt !== undefined && c.startAt > now) return { action: "hold", untilMs: c.startAt, reason: "scheduled" };
  return { action: "send" };
}

/** `start_at` must be ahead of `now`, and at most `MAX_SCHEDULE_AHEAD_MS` ahead. */
export function checkStartAt(startAt: number, now: number): void {
  if (startAt <= now) throw new ValidationError("start_at", "must be in the future", "START_AT_IN_PAST");
  if (startAt > now + MAX_SCHEDULE_AHEAD_MS) {
    throw new ValidationError("start_at", "must be at most 30 days ahead", "START_AT_TOO_FAR");
  }
}

// ---- refusals (HTTP 409) ----

export function campaignCompleted(action: string): ConflictError {
  return new ConflictError(
    "CAMPAIGN_COMPLETED",
    "campaign_id",
    `the campaign is COMPLETED (every recipient has its outcome): there is nothing to ${action}`,
  );
}

export function campaignCancelled(action: string): ConflictError {
  return new ConflictError("CAMPAIGN_CANCELLED", "campaign_id", `the campaign was cancelled: it cannot be ${action}`);
}

// ---- pause, resume, cancel ----

export interface LifecycleDependencies {
  campaigns: CampaignStore;
  ledger: SendLedger;
  clock: Clock;
  /** The stock query of resume's pre-flight (E8). */
  gateway: Pick<CouponGateway, "getStock">;
  /**
   * How long a pause or cancel waits, once written, before it is acknowledged: longer than the worker's
   * `controlFreshMs` (how old its read of the campaign may be when a send starts), so that no send starts after the
   * acknowledgement. See `CONTROL_SETTLE_MS`.
   */
  settleMs: number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * How long before a send's WeChat call its worker's read of the campaign's control may have been issued: checked once
 * the send's lease is held, right before the call (campaign-gates.ts `gateNow`).
 */
export const CONTROL_FRESH_MS = 1_000;
/**
 * The wait before a pause or cancel is acknowledged: the worker's freshness bound plus a margin for what runs between
 * that check and the request leaving (no I/O is awaited there).
 */
export const CONTROL_SETTLE_MS = 1_500;

export interface ControlResult {
  campaign: CampaignRecord;
  /** false: the campaign already was in the asked state (a repeat is answered, not refused). */
  changed: boolean;
}

type Action = "pause" | "resume" | "cancel";

const TRANSITIONS: Record<Action, { from: readonly CampaignControl[]; to: CampaignControl; settles: boolean }> = {
  pause: { from: ["RUNNING"], to: "PAUSED", settles: true },
  resume: { from: ["PAUSED"], to: "RUNNING", settles: false },
  cancel: { from: ["RUNNING", "PAUSED"], to: "CANCELLED", settles: true },
};

/**
 * Pauses (RUNNING → PAUSED), resumes (PAUSED → RUNNING) or cancels (RUNNING/PAUSED → CANCELLED) a campaign with one
 * conditional write that touches only its control. Asking for the state it is in is answered `changed: false`; a
 * COMPLETED campaign is CAMPAIGN_COMPLETED, pausing or resuming a cancelled one CAMPAIGN_CANCELLED (409s). A pause
 * or cancel is acknowledged only `settleMs` after it was written: a send whose worker read the campaign before the
 * write starts within that time, none after. Resuming a paused campaign runs the stock pre-flight first (a
 * `StockUnavailableError` when the stock still cannot serve the recipients left); any change clears the reason the
 * service paused it for.
 */
export async function changeCampaignControl(
  deps: LifecycleDependencies,
  id: string,
  action: Action,
): Promise<ControlResult> {
  const transition = TRANSITIONS[action];
  if (action === "resume") await preflightResume(deps, id);
  const change = await deps.campaigns.setControl(id, transition, deps.clock()).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw new NotFoundError("campaign_id", `no campaign ${id}`);
    throw error;
  });
  if (!change.changed) {
    const { record } = change;
    if (record.reconciled) throw campaignCompleted(action);
    if (record.control !== transition.to) {
      if (record.control === "CANCELLED") throw campaignCancelled(action === "pause" ? "paused" : "resumed");
      // Not reachable with today's transitions (every other control is in `from`); stay explicit.
      throw new ConflictError("CAMPAIGN_STATE_CONFLICT", "campaign_id", `the campaign is ${record.control}`);
    }
    return { campaign: record, changed: false };
  }
  if (transition.settles) await deps.sleep(deps.settleMs);
  // A cancel may complete the campaign at once (an open upload sealed as it stands, every send already final).
  const campaign = await refreshCampaign(deps, id);
  return { campaign: campaign ?? change.record, changed: true };
}

/**
 * The stock check of a resume: the stock must serve the recipients not yet sent (all of a campaign still receiving
 * chunks is not known: budget left at all), from now or from a start_at still ahead. Only a paused campaign is
 * checked: resuming anything else is answered by `setControl` without a WeChat call.
 */
async function preflightResume(deps: LifecycleDependencies, id: string): Promise<void> {
  const campaign = await deps.campaigns.get(id);
  if (campaign === undefined || campaign.control !== "PAUSED" || campaign.reconciled) return;
  const now = deps.clock();
  const left = Math.max(0, campaign.total - campaign.sent - campaign.failed - campaign.cancelled);
  await preflightStock(
    deps.gateway,
    {
      mchid: campaign.mchid,
      stockId: campaign.stockId,
      ...(campaign.startAt !== undefined && campaign.startAt > now ? { startAt: campaign.startAt } : {}),
      ...(campaign.sealed ? { recipients: left } : {}),
    },
    now,
  );
}

// ---- the list ----

export interface ListCampaignsQuery {
  mchid: string;
  limit: number;
  cursor?: string;
  state?: CampaignState;
  stockId?: string;
}

/** Campaigns read per page at most when filtering: bounds one request's work (the page may come back short). */
export const LIST_SCAN_LIMIT = 500;

/** The merchant's campaigns, newest first, filtered by state (at `now`) and stock. */
export function listCampaigns(
  deps: { campaigns: CampaignStore; clock: Clock },
  query: ListCampaignsQuery,
): Promise<ListPage<CampaignRecord>> {
  const now = deps.clock();
  const { state, stockId } = query;
  const filtered = state !== undefined || stockId !== undefined;
  return deps.campaigns.list({
    mchid: query.mchid,
    limit: query.limit,
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    ...(filtered
      ? {
          where: (c: CampaignRecord) =>
            (state === undefined || campaignStatus(c, now).state === state) &&
            (stockId === undefined || c.stockId === stockId),
          scanLimit: LIST_SCAN_LIMIT,
        }
      : {}),
  });
}
