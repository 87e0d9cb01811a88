import type { Clock } from "../ports.js";

/** One campaign's use of the merchant's budget in one second. */
export interface CampaignUsage {
  /**
   * Tokens taken: granted, plus tokens momentarily committed by a taker that has not yet given back what it may not
   * keep (`RateCounter.commit`).
   */
  taken: number;
  /** Tokens its workers asked for this second (each waiting send counted once per second): its demand. */
  asked: number;
  /** The campaign's own ceiling (`rate_per_second`). */
  ratePerSecond: number;
}

/** A merchant's use of its send budget in one second, as the shared counter holds it. */
export interface RateUsage {
  /** Every token taken this second: campaigns and interactive sends. */
  total: number;
  /** Tokens taken by interactive sends (POST /coupons). */
  interactive: number;
  /** Tokens interactive sends asked for (each once per second): above `interactive` when one waited. */
  interactiveAsked: number;
  /** Per campaign that asked this second. */
  campaigns: Map<string, CampaignUsage>;
}

export interface RateTake {
  /** Tokens added to the taker's count (the governor's campaign takes add none: their tokens come with `commit`). */
  tokens: number;
  /** Tokens newly asked this second (the demand); a waiting send asks again in the same second without counting twice. */
  asked: number;
  /** The campaign taking; undefined for an interactive send. */
  campaign?: { id: string; ratePerSecond: number };
}

/**
 * Shared per-second counters of a scope (one DynamoDB item per merchant and second in AWS). Every worker and API
 * environment takes from the same counter, so together they hold the merchant's rate.
 */
export interface RateCounter {
  /**
   * Adds `take.tokens` to the taker's own count (a campaign's taken and asked, with its rate; an interactive send's,
   * and for it the second's total too); returns the second's usage after the add.
   */
  take(scope: string, epochSecond: number, take: RateTake): Promise<RateUsage>;
  /**
   * Adds a campaign's tokens to the second's total and to the campaign's own count in one atomic update; returns both
   * after the add.
   */
  commit(
    scope: string,
    epochSecond: number,
    tokens: number,
    campaignId: string,
  ): Promise<{ total: number; own: number }>;
  /**
   * Returns tokens taken but not granted: `total` from the second's total, `own` from the taker's count (a campaign's,
   * or the interactive one when `campaignId` is undefined). The counters then again hold only what was granted.
   */
  giveBack(
    scope: string,
    epochSecond: number,
    back: { total: number; own: number; campaignId?: string },
  ): Promise<void>;
  /** The second's usage as it stands (undefined: nothing taken that second). */
  usage(scope: string, epochSecond: number): Promise<RateUsage | undefined>;
  /** The newest cut any worker recorded for `scope`, if any. */
  readSignal(scope: string): Promise<RateSignal | undefined>;
  /**
   * Records a cut unless one at or after `signal.lastCut - spacingMs` is recorded already: the 429s of one burst, met
   * by several workers at once, are one cut.
   */
  recordSignal(scope: string, signal: RateSignal, spacingMs: number): Promise<void>;
}

/**
 * Where and when WeChat's limit was met for a scope, shared through the counter's store: each Lambda execution
 * environment has its own memory, so without it each would have to meet a 429 of its own before slowing down, and
 * together they would keep overshooting the limit.
 */
export interface RateSignal {
  /** Epoch ms of the cut. */
  lastCut: number;
  /** The share of the ceiling after the cut. */
  factor: number;
  /** The share at which the 429 came. */
  hitAt: number;
}

export type Sleep = (ms: number) => Promise<void>;

/** The scope of a merchant's send budget: WeChat limits sends per merchant (docs/wechatpay-cash-coupons.md#rate-limits). */
export function merchantScope(mchid: string): string {
  return `merchant:${mchid}`;
}

/** This environment's share of a scope's ceiling, after 429s. */
interface Share {
  factor: number;
  /** When `factor` last changed (a cut, or the last whole recovery step). */
  lastChange: number;
  lastCut: number;
  /** The share at the last cut: where WeChat's limit was met. */
  hitAt: number;
}

/**
 * Pacing: the second is cut into `SLOTS` slots and campaigns' budget is released in equal steps over all but the last
 * slot, which is kept clear of campaign sends (docs/aws-notes.md#holding-wechats-send-rate). Workers that wait wake
 * when more is released, so sends are spread over the second instead of bursting at its start: whatever the phase of
 * WeChat's window, one window then holds at most a ninth more than the budget, and where WeChat's windows follow the
 * clock's seconds (as the simulator's do, local/simulator/rate-limit.ts) nothing granted in one second reaches WeChat
 * in the next unless it takes longer than a slot to get there. A worker's send takes its token with the ledger's lease
 * held, right before its call (process-send-batch.ts, `RateTokens`), and a campaign's grant known too late in its
 * second is given back (GRANT_LATE_MS).
 */
export const SLOTS = 10;
const SLOT_MS = 1000 / SLOTS;

/**
 * Interactive reserve. Campaigns leave free, beyond every token taken so far this second, room for the interactive
 * sends still to come in it: the expected number of them for the rest of the second (the interactive demand, times
 * the fraction of the second left) plus RESERVE_DEVIATIONS standard deviations of a Poisson count of that mean, and at
 * least `max(RESERVE_FLOOR × budget, 1)` at every moment (at most half the budget). The demand is the interactive
 * sends asked for per second over the last DEMAND_SECONDS seconds, or in the last second if more (asks, not grants: a
 * send that waited still counts): the reserve follows a stream up at once, and one quiet second takes off only a
 * third; the mean rather than the peak keeps the idle part small. A steady 5/s stream lands 4 in one clock second
 * and 6 in the next, and Poisson arrivals vary by √n: a reserve of "last second's grants" alone was too small (an
 * interactive send waited behind the campaigns in CI). Shrinking with the time left keeps what sits idle small:
 * early in the second the reserve is large but campaigns are paced and take only part of their share then; by the
 * last campaign slot it covers the last fifth of the second. A fixed large reserve would sit idle whenever nobody
 * sends one-off coupons and cap campaigns below the 97 % throughput target.
 *
 * Interactive sends may take anything campaigns have not taken yet, and in any case up to the demand
 * (`max(floor, ⌈demand⌉)` per second, `guaranteedOf`) whatever the count shows: campaigns leave that much free too,
 * so a one-off send never waits for campaign tokens that are about to be given back.
 */
export const RESERVE_FLOOR = 0.02;
export const RESERVE_DEVIATIONS = 3;
export const DEMAND_SECONDS = 3;
const RESERVE_MAX = 0.5;

/** Cut at a 429: 90 % of the lower of the current share and the share actually in use (`onRateLimited`). */
const CUT = 0.9;
const MIN_FACTOR = 0.05;
/** A burst of 429s from one batch is one signal, not ten. */
const CUT_SPACING_MS = 500;
const STEP_MS = 2_000;
const FAST_STEP = 0.1;
const SLOW_STEP = 0.01;
/** Recovery slows between these fractions of the share where the last 429 came. */
const NEAR_BELOW = 0.95;
const NEAR_ABOVE = 1.05;
/** After this long without a 429 the limit met then may have moved: recover fast again. */
const HIT_MEMORY_MS = 60_000;
/** How often a worker reads the shared signal of a scope it is sending for. */
const SYNC_MS = 1_000;

/** What a taker is: a campaign (with its own ceiling) or an interactive send. */
export type Taker = { campaignId: string; ratePerSecond: number } | { interactive: true };

/**
 * Max-min fair shares (water-filling) of `capacity` among `demands`: a demand below its equal share is met in full and
 * what it leaves is split among the others.
 */
export function maxMinShares(capacity: number, demands: Map<string, number>): Map<string, number> {
  const shares = new Map<string, number>();
  const sorted = [...demands.entries()].sort((a, b) => a[1] - b[1]);
  let left = capacity;
  for (let i = 0; i < sorted.length; i++) {
    const [id, demand] = sorted[i]!;
    const equal = left / (sorted.length - i);
    const share = Math.min(demand, equal);
    shares.set(id, share);
    left -= share;
  }
  return shares;
}

/**
 * The room campaigns leave free at `msIntoSecond` beyond every token taken so far, for the interactive sends still
 * to come this second given an interactive demand of `demand` sends per second (see RESERVE_FLOOR).
 */
export function reserveOf(budget: number, demand: number, msIntoSecond: number): number {
  const floor = Math.max(1, Math.ceil(RESERVE_FLOOR * budget));
  const expected = (demand * Math.max(0, 1000 - msIntoSecond)) / 1000;
  const headroom = expected > 0 ? Math.ceil(expected + RESERVE_DEVIATIONS * Math.sqrt(expected)) : 0;
  return Math.min(Math.floor(budget * RESERVE_MAX), Math.max(floor, headroom));
}

/** The interactive sends per second that are granted whatever the count shows (see RESERVE_FLOOR). */
export function guaranteedOf(budget: number, demand: number): number {
  const floor = Math.max(1, Math.ceil(RESERVE_FLOOR * budget));
  return Math.min(Math.floor(budget * RESERVE_MAX), Math.max(floor, Math.ceil(demand)));
}

/** What campaigns leave free at `msIntoSecond`, given the interactive tokens taken so far this second. */
function unusedReserveOf(budget: number, demand: number, msIntoSecond: number, interactive: number): number {
  return Math.max(reserveOf(budget, demand, msIntoSecond), guaranteedOf(budget, demand) - interactive);
}

/**
 * What campaigns together may take in the second, seen at `msIntoSecond` with `interactive` tokens taken by
 * interactive sends so far: the budget less those, the interactive sends expected until the last campaign slot, and
 * the reserve still left at its start (after which campaigns take nothing). Their fair shares are shares of this.
 */
export function campaignRoomOf(budget: number, demand: number, msIntoSecond: number, interactive: number): number {
  const lastSlot = Math.max(msIntoSecond, (SLOTS - 2) * SLOT_MS);
  const expected = Math.ceil((demand * (lastSlot - msIntoSecond)) / 1000);
  const interactiveShare = Math.max(
    guaranteedOf(budget, demand),
    interactive + expected + reserveOf(budget, demand, lastSlot),
  );
  return Math.max(0, budget - interactiveShare);
}

/** What the governor knows of the last seconds when it decides. */
export interface Recent {
  /** The last whole second's usage (campaigns active then, with their demand). */
  previous: RateUsage | undefined;
  /** Interactive sends expected per second (see RESERVE_FLOOR). */
  interactiveDemand: number;
}

/**
 * How many of `want` tokens a taker may have, given the second's usage after its take, the budget of the second, the
 * time into the second (pacing), what is known of the last seconds (demand of campaigns between batches, interactive
 * demand) and the taker; and, when it may not have all, when in the second (ms; 1000: the next second) it is worth
 * asking again. For an interactive send this is its grant: its take added `want` to its count and the total, so the
 * decision is made on the count after its own atomic add. A campaign's take adds only its ask (its demand): this is
 * what it may commit, by the counts of tokens committed so far, and `releasedOwn` is what its own count may reach by
 * now; the commit then adds to the total and the campaign's count at once, and it keeps what fits both after that add
 * (`totalGrantOf`, `ownGrantOf`). Safe under concurrency: every keep is decided on the counts after its own atomic add,
 * so grants never sum past the budget, nor a campaign's past its share; and a worker's ask refused (its share of the
 * slot spent) leaves nothing in the counts for the next to be refused on. (Asks used to be added to the campaign's
 * count at once and given back when refused: under load, with a counter round trip of 100–300 ms, the refused asks of
 * a campaign's eight waiting workers, ten tokens each, held the count above the share while there was room, and the
 * slot's tokens went unused: seconds short by 10–25 in the rate bench, test/bench/rate.ts.)
 */
export function shareGrantOf(args: {
  want: number;
  usage: RateUsage;
  recent: Recent;
  budget: number;
  msIntoSecond: number;
  taker: Taker;
}): { grant: number; retryAtMs: number; releasedOwn?: number } {
  const { want, usage, recent, budget, msIntoSecond, taker } = args;
  const { previous, interactiveDemand: demand } = recent;
  const slot = Math.floor(msIntoSecond / SLOT_MS);
  const nextSlot = (slot + 1) * SLOT_MS;
  // Interactive: anything left of the budget, and in any case its guaranteed part. The total may hold campaign tokens
  // about to be given back; the guaranteed part does not depend on it (campaigns leave it free by the interactive
  // count they saw, and an interactive hold given back was over it), so a one-off send never waits for their
  // give-backs. (An interactive take has added `want` to the total already.)
  if ("interactive" in taker) {
    const before = usage.total - want;
    const guaranteed = guaranteedOf(budget, demand);
    const grant = Math.max(clamp(budget - before, want), clamp(guaranteed - (usage.interactive - want), want));
    return { grant, retryAtMs: nextSlot };
  }
  // The last slot is kept clear of campaign sends: one granted late in the second still reaches WeChat within it.
  if (slot >= SLOTS - 1) return { grant: 0, retryAtMs: 1000 };
  // Campaigns as a whole: within the second's budget, leaving the reserve free at every moment. (A campaign's take
  // adds to its own count only: the total holds other takers' tokens.)
  const byTotal = budget - unusedReserveOf(budget, demand, msIntoSecond, usage.interactive) - usage.total;
  // This campaign: its max-min fair share of what campaigns may take, among the campaigns active in this or the last
  // second, each demanding what it asked for (capped by its own rate). The shares are paced, so the whole is; a share
  // of at most one slot's budget is not (it cannot burst: a 3-recipient campaign takes its 3 tokens at once).
  const demands = new Map<string, number>();
  for (const source of [previous, usage]) {
    for (const [id, c] of source?.campaigns ?? []) {
      demands.set(id, Math.min(c.ratePerSecond, Math.max(demands.get(id) ?? 0, c.asked)));
    }
  }
  const shares = maxMinShares(campaignRoomOf(budget, demand, msIntoSecond, usage.interactive), demands);
  const share = Math.min(taker.ratePerSecond, shares.get(taker.campaignId) ?? 0);
  const unpaced = share <= budget / SLOTS;
  const releasedBy = (s: number) => (unpaced ? share : Math.ceil(share * releasedAt(s * SLOT_MS)));
  const mine = usage.campaigns.get(taker.campaignId)?.taken ?? 0;
  const releasedOwn = releasedBy(slot);
  const grant = clamp(Math.min(byTotal, releasedOwn - mine), want);
  if (grant === 0 && byTotal <= 0) {
    const retryAtMs = againInLastSlot(msIntoSecond, releasedAt(msIntoSecond) < 1 ? nextSlot : 1000);
    return { grant, retryAtMs, releasedOwn };
  }
  // When to look again: the total spent (by tokens that may yet be given back) at the next slot while the second is
  // still releasing, else the next second; the own share spent at the first slot that releases more of it.
  let retryAtMs = 1000;
  if (byTotal - grant <= 0) retryAtMs = releasedAt(msIntoSecond) < 1 ? nextSlot : 1000;
  else {
    for (let s = slot + 1; s < SLOTS; s++) {
      if (releasedBy(s) > mine + grant) {
        retryAtMs = s * SLOT_MS;
        break;
      }
    }
  }
  return { grant, retryAtMs: grant < want ? againInLastSlot(msIntoSecond, retryAtMs) : retryAtMs, releasedOwn };
}

/**
 * When a campaign taker refused in the last campaign slot looks again: soon, within the slot, rather than next second.
 * The counts it was refused on may hold other takers' momentary tokens (committed, then given back as soon as they
 * have seen they do not fit): the waiting batches of a campaign wake together when the slot releases the rest of the
 * second's share, and each may see the others' commits in the count. In an earlier slot the next one
 * makes up for it; in the last, that ninth of the second's budget was lost (the rate bench shows seconds short by
 * about that much, test/bench/rate.ts). At most a few extra counter updates per waiting batch and second.
 */
function againInLastSlot(msIntoSecond: number, retryAtMs: number): number {
  const lastSlotEnds = (SLOTS - 1) * SLOT_MS;
  const again = msIntoSecond + HOLD_RETRY_MS;
  return retryAtMs >= 1000 && msIntoSecond >= lastSlotEnds - SLOT_MS && again < lastSlotEnds ? again : retryAtMs;
}

/**
 * A campaign's grant known this close to its second's end (or later) is given back: its sends would reach WeChat in
 * the next second, on top of that second's budget. The decision is made at the time of the take, but under load the
 * take and the commit take 100–300 ms each: the rate bench saw a fifth of the sends of tokens known in the last 50 ms
 * of their second, and most of those known after it, reach the simulator in the next second (test/bench/rate.ts).
 */
const GRANT_LATE_MS = 50;

/**
 * A campaign's take decides for the moment its grant will be known rather than the moment it is asked: the time into
 * the second it paces by is the clock plus the environment's recent lag from take to known grant (a moving average,
 * weight LAG_WEIGHT; at most LEAD_MAX_MS, and never past the second), and it wakes that much before a slot opens.
 * On a quiet machine the lag is a few ms and nothing changes; under load the take and the commit take 40–180 ms
 * together, and the last slot's grants, decided at its start, came back after GRANT_LATE_MS and were given back
 * (the rate bench lost about 1 % of its tokens so, test/bench/rate.ts).
 */
const LEAD_MAX_MS = 150;
const LAG_WEIGHT = 0.2;

/** How soon a taker refused in the last campaign slot looks again (`againInLastSlot`). */
const HOLD_RETRY_MS = 25;

/**
 * How many of a campaign's `committed` tokens fit the second's budget, given the total after its commit and the
 * interactive count it saw (the reserve is left free).
 */
export function totalGrantOf(args: {
  committed: number;
  totalAfter: number;
  usage: RateUsage;
  recent: Recent;
  budget: number;
  msIntoSecond: number;
}): number {
  const { committed, totalAfter, usage, recent, budget, msIntoSecond } = args;
  const unusedReserve = unusedReserveOf(budget, recent.interactiveDemand, msIntoSecond, usage.interactive);
  return clamp(budget - unusedReserve - (totalAfter - committed), committed);
}

/**
 * How many of a campaign's `committed` tokens fit its own share released by now (`releasedOwn`, from `shareGrantOf`),
 * given its own count after the commit.
 */
export function ownGrantOf(committed: number, ownAfter: number, releasedOwn: number): number {
  return clamp(releasedOwn - (ownAfter - committed), committed);
}

const clamp = (room: number, want: number) => Math.max(0, Math.min(want, Math.floor(room)));

/** The fraction of a second's budget released at `msIntoSecond` (all of it from the start of the last slot). */
export function releasedAt(msIntoSecond: number): number {
  return Math.min(1, (Math.floor(msIntoSecond / SLOT_MS) + 1) / (SLOTS - 1));
}

/**
 * Holds one merchant-wide send budget across every campaign, every POST /coupons and every execution environment:
 * tokens come from the current second's shared counter (`RateCounter`), split as follows.
 *
 * - **Interactive first.** A POST /coupons may take anything left of the second's budget; campaigns leave it a small
 *   reserve that grows with recent interactive use (RESERVE_FLOOR).
 * - **Fair among campaigns.** What campaigns may take is split max-min fair among the campaigns that asked in this or
 *   the last second, each capped by its own `rate_per_second`: a 3-recipient campaign gets its tokens at once while a
 *   big one runs, and a big one alone gets everything.
 * - **Paced** within the second (SLOTS), so sends do not burst at second boundaries.
 * - **Adaptive.** The budget is `ceiling × factor`. After HTTP 429 (within its send's token second: see
 *   `onRateLimited`) the factor is cut to 90 % of the share actually in use, and recovers by +10 % of the ceiling every 2 s up to 95 % of where the 429 came, from there for a minute by
 *   +1 % per step until 105 % of it: with another sender of the merchant's taking part of WeChat's limit, the governor
 *   finds the rest and lives just below it, crossing it with a small probe every few steps instead of a full step.
 *   The cut is shared through the counter's store, so every environment slows down within a second.
 */
export class RateGovernor {
  private readonly shares = new Map<string, Share>();
  /** Per scope: when the shared signal was last read, and the newest cut this worker has made or adopted. */
  private readonly synced = new Map<string, { at: number; cut: number }>();
  /** Per scope: what is known of the last seconds, read once per second. */
  private readonly recent = new Map<string, { second: number; recent: Promise<Recent> }>();
  /** Per scope: the interactive sends asked in each of the last seconds read (DEMAND_SECONDS of them). */
  private readonly interactiveAsked = new Map<string, Map<number, number>>();
  /** How long a campaign's grant takes to be known after its take starts (moving average, ms): see LEAD_MAX_MS. */
  private grantLagMs = 0;

  constructor(
    private readonly counter: RateCounter,
    private readonly clock: Clock,
    private readonly sleep: Sleep,
  ) {}

  /**
   * Waits until `tokens` sends may start for `taker` within the merchant budget of `ceilingPerSecond` (times the
   * adaptive factor), or `maxWaitMs` has passed; returns the tokens granted and the epoch second they are for.
   *
   * Without `use`, all within one second: a taker that got some by the end of a second returns with those, to be used
   * at once. With `use`, each grant is handed to it as it comes (tokens and their second), to be used at once, and the
   * wait goes on across seconds for the rest (until `use` answers false): tokens granted early in a second are then
   * sent in their slot instead of waiting for the rest of a batch's, which would bunch them at the second's end and
   * let some miss it. `tokens` may then be a function, asked before each take, of how many are still wanted: sends
   * that join the wait are counted in (the send worker's sends wait with their leases held, `process-send-batch.ts`).
   */
  async acquire(
    scope: string,
    taker: Taker,
    tokens: number | (() => number),
    ceilingPerSecond: number,
    maxWaitMs: number,
    use?: (granted: number, second: number) => boolean,
  ): Promise<{ granted: number; second: number }> {
    const deadline = this.clock() + maxWaitMs;
    let granted = 0;
    const wanted = typeof tokens === "number" ? () => tokens - granted : tokens;
    let askedIn: number | undefined;
    /** Tokens asked in `askedIn` and not granted since: each waiting send counts once per second in the demand. */
    let askedOpen = 0;
    let second = Math.floor(this.clock() / 1000);
    for (let want = wanted(); want > 0; want = wanted()) {
      await this.sync(scope);
      // A campaign decides for the moment its grant will be known, within the second (LEAD_MAX_MS); an interactive
      // send for now.
      const started = this.clock();
      const lead =
        "interactive" in taker ? 0 : Math.min(LEAD_MAX_MS, Math.round(this.grantLagMs), 999 - (started % 1000));
      const now = started + lead;
      // Tokens are for the second they were granted in: a taker holding some does not carry them into the next.
      if (use === undefined && granted > 0 && Math.floor(now / 1000) !== second) break;
      second = Math.floor(now / 1000);
      const budget = Math.max(1, Math.floor(ceilingPerSecond * this.factor(scope, now)));
      if (askedIn !== second) askedOpen = 0;
      const asked = Math.max(0, want - askedOpen);
      askedOpen += asked;
      const campaign = "interactive" in taker ? undefined : taker.campaignId;
      const [usage, recent] = await Promise.all([
        this.counter.take(scope, second, {
          // A campaign's tokens are added by its commit, once its share allows them (shareGrantOf).
          tokens: campaign === undefined ? want : 0,
          asked,
          ...("interactive" in taker ? {} : { campaign: { id: taker.campaignId, ratePerSecond: taker.ratePerSecond } }),
        }),
        this.recentOf(scope, second),
      ]);
      askedIn = second;
      const msIntoSecond = now - second * 1000;
      const shared = shareGrantOf({ want, usage, recent, budget, msIntoSecond, taker });
      const { grant: byShare } = shared;
      let { retryAtMs } = shared;
      let grant = byShare;
      if (byShare > 0 && campaign !== undefined) {
        const after = await this.counter.commit(scope, second, byShare, campaign);
        this.grantLagMs += (this.clock() - started - this.grantLagMs) * LAG_WEIGHT;
        grant = Math.min(
          totalGrantOf({ committed: byShare, totalAfter: after.total, usage, recent, budget, msIntoSecond }),
          ownGrantOf(byShare, after.own, shared.releasedOwn ?? 0),
        );
        // Decided at `now`, known only after two counter round trips: too late in the second to be sent within it, the
        // tokens are given back and asked for again in the next second (`GRANT_LATE_MS`).
        if (this.clock() >= (second + 1) * 1000 - GRANT_LATE_MS) {
          grant = 0;
          retryAtMs = 1000;
        }
      }
      granted += grant;
      askedOpen = Math.max(0, askedOpen - grant);
      const more = grant > 0 && use !== undefined ? use(grant, second) : true;
      // What was added and may not be kept (an interactive send's take beyond its grant, a campaign's commit beyond
      // it) goes back after the grant is handed over: the sends need not wait for one more round trip.
      const back = (campaign === undefined ? want : byShare) - grant;
      if (back > 0) {
        // Best effort: a give-back lost leaves the counter high, which only holds the rate lower for this second.
        await this.counter
          .giveBack(scope, second, {
            total: back,
            own: back,
            ...(campaign === undefined ? {} : { campaignId: campaign }),
          })
          .catch(() => undefined);
      }
      if (wanted() <= 0 || !more) break;
      // Everything asked was granted, and more is wanted: takers that joined since (`tokens` a function) ask at once.
      if (grant === want) continue;
      // Campaign tokens are released slot by slot: look again when more of this taker's may be out. An interactive
      // send looks again each slot (campaign tokens held a moment may have been given back).
      const wake = Math.max(second * 1000 + (retryAtMs < 1000 ? retryAtMs - lead : retryAtMs), this.clock());
      if (wake > deadline || (use === undefined && granted > 0 && wake >= (second + 1) * 1000)) break;
      await this.sleep(Math.max(0, wake - this.clock()) + Math.floor(Math.random() * 5));
    }
    return { granted, second };
  }

  /**
   * Whether a campaign's sends waited for tokens in the last whole second (it asked for more than it was granted):
   * the status's `waiting_for_rate`. One read of the counter.
   */
  async waitedForRate(scope: string, campaignId: string): Promise<boolean> {
    const usage = await this.counter.usage(scope, Math.floor(this.clock() / 1000) - 1);
    const campaign = usage?.campaigns.get(campaignId);
    return campaign !== undefined && campaign.asked > campaign.taken;
  }

  /**
   * The last whole second's usage and the interactive demand of the last DEMAND_SECONDS seconds, read once per second
   * per scope (shared by concurrent acquisitions): one read of the counter, more only for seconds this environment
   * has not read yet (after it was idle).
   */
  private recentOf(scope: string, second: number): Promise<Recent> {
    const cached = this.recent.get(scope);
    if (cached?.second === second) return cached.recent;
    const asked = this.interactiveAsked.get(scope) ?? new Map<number, number>();
    this.interactiveAsked.set(scope, asked);
    const seconds = Array.from({ length: DEMAND_SECONDS }, (_, i) => second - 1 - i);
    const read = async (s: number) => {
      // The last whole second is always read (its campaigns are needed); older ones only when not known yet.
      if (s !== second - 1 && asked.has(s)) return undefined;
      const usage = await this.counter.usage(scope, s).catch(() => undefined);
      asked.set(s, usage?.interactiveAsked ?? 0);
      return usage;
    };
    const recent = Promise.all(seconds.map(read)).then(([previous]) => {
      for (const s of asked.keys()) if (s < second - DEMAND_SECONDS) asked.delete(s);
      const mean = seconds.reduce((sum, s) => sum + (asked.get(s) ?? 0), 0) / seconds.length;
      return { previous, interactiveDemand: Math.max(mean, asked.get(second - 1) ?? 0) };
    });
    this.recent.set(scope, { second, recent });
    return recent;
  }

  /**
   * WeChat answered 429 for this scope, to a send whose token was for `tokenSecond` (default: the second of the 429):
   * cut the share to 90 % of the lower of the current share and the share in use when the 429 came, remember where it
   * was hit, and tell the other workers through the counter's store (best effort: one that does not hear of it meets
   * the limit itself and cuts on its own).
   *
   * The share in use is the larger of the last whole second's total (when it had any) and the 429's own second's so far:
   * while the rate ramps up the last second's total is below the budget, and taking it as WeChat's limit cut the
   * share ~10 % too deep (then crept back at +1 % per step). A 429 answered after its token's second is no evidence
   * of the limit at all and cuts nothing: the send reached WeChat on top of a later second's budget (an edge spill,
   * e.g. a send started at the end of its second), which says nothing of what WeChat allows in a second.
   */
  onRateLimited(scope: string, ceilingPerSecond: number, tokenSecond?: number): void {
    const now = this.clock();
    const second = Math.floor(now / 1000);
    if (tokenSecond !== undefined && second > tokenSecond) return;
    const previous = this.shares.get(scope);
    if (previous && now - previous.lastCut < CUT_SPACING_MS) return;
    const current = this.factor(scope, now);
    const cut = (hitAt: number) => ({ lastCut: now, factor: Math.max(MIN_FACTOR, hitAt * CUT), hitAt });
    this.adopt(scope, cut(current));
    const refine = async () => {
      const [before, during] = await Promise.all([
        this.counter.usage(scope, second - 1),
        this.counter.usage(scope, second),
      ]);
      // Nothing sent in the last whole second (idle until now): the second so far is too short to tell a rate by.
      const used = before && before.total > 0 ? Math.max(before.total, during?.total ?? 0) : 0;
      // Sending below the budget when the 429 came: WeChat's limit for us is what we used, not the budget.
      const hitAt = used > 0 ? Math.min(current, used / ceilingPerSecond) : current;
      const signal = cut(hitAt);
      if (this.shares.get(scope)?.lastCut === now) this.adopt(scope, signal);
      await this.counter.recordSignal(scope, signal, CUT_SPACING_MS);
    };
    refine().catch(() => undefined);
  }

  /** Takes up a cut another worker recorded since this one last looked (at most once a second per scope). */
  private async sync(scope: string): Promise<void> {
    const now = this.clock();
    const synced = this.synced.get(scope);
    if (synced && now - synced.at < SYNC_MS) return;
    this.synced.set(scope, { at: now, cut: synced?.cut ?? Number.NEGATIVE_INFINITY });
    const signal = await this.counter.readSignal(scope).catch(() => undefined);
    if (signal && signal.lastCut > (this.synced.get(scope)?.cut ?? Number.NEGATIVE_INFINITY)) this.adopt(scope, signal);
  }

  private adopt(scope: string, signal: RateSignal): void {
    this.shares.set(scope, {
      factor: signal.factor,
      lastChange: signal.lastCut,
      lastCut: signal.lastCut,
      hitAt: signal.hitAt,
    });
    this.synced.set(scope, { at: this.synced.get(scope)?.at ?? Number.NEGATIVE_INFINITY, cut: signal.lastCut });
  }

  /** Current share of the ceiling (1 = full). */
  factor(scope: string, now = this.clock()): number {
    const share = this.shares.get(scope);
    if (!share) return 1;
    const steps = Math.floor((now - share.lastChange) / STEP_MS);
    if (steps <= 0) return share.factor;
    let factor = share.factor;
    // Bounded: from the lowest share, fast and slow steps reach 1 in well under 200 steps.
    for (let step = 1; step <= Math.min(steps, 200) && factor < 1; step++) {
      const remembered = share.lastChange + step * STEP_MS - share.lastCut < HIT_MEMORY_MS;
      const bandStart = NEAR_BELOW * share.hitAt;
      let next: number;
      if (!remembered || factor >= NEAR_ABOVE * share.hitAt) next = factor + FAST_STEP;
      else if (factor >= bandStart) next = factor + SLOW_STEP;
      else next = Math.min(factor + FAST_STEP, bandStart); // a fast step must not jump the band
      // Rounded to 0.1 % so repeated steps land on the band edges exactly.
      factor = Math.min(1, Math.round(next * 1000) / 1000);
    }
    if (factor >= 1) this.shares.delete(scope);
    else this.shares.set(scope, { ...share, factor, lastChange: share.lastChange + steps * STEP_MS });
    return factor;
  }
}
