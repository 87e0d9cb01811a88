import type { Clock } from "../ports.js";

/**
 * Shared per-second counters (DynamoDB item per scope and second in AWS): `add` returns the count for that second
 * after adding `tokens`. Every worker of every environment adds to the same counter, so together they hold the rate.
 */
export interface RateCounter {
  add(scope: string, epochSecond: number, tokens: number): Promise<number>;
}

export type Sleep = (ms: number) => Promise<void>;

/** This environment's share of a scope's configured rate, after 429s. */
interface Share {
  factor: number;
  /** When `factor` last changed (a cut, or the last whole recovery step). */
  lastChange: number;
  lastCut: number;
  /** The share at the last cut: where WeChat's limit was met. */
  hitAt: number;
}

const CUT = 0.7;
const MIN_FACTOR = 0.05;
/** A burst of 429s from one batch is one signal, not ten. */
const CUT_SPACING_MS = 500;
const STEP_MS = 2_000;
const FAST_STEP = 0.1;
const SLOW_STEP = 0.02;
/** Recovery slows between these fractions of the share where the last 429 came. */
const NEAR_BELOW = 0.9;
const NEAR_ABOVE = 1.1;
/** After this long without a 429 the limit met then may have moved: recover fast again. */
const HIT_MEMORY_MS = 60_000;

/**
 * Holds a rate across all workers: tokens are taken from the current second's shared counter; when the second is
 * spent, wait for the next one. After HTTP 429 this environment's share is cut to 70 % (CUBIC's β) and recovers by
 * +10 % of the configured rate every 2 s (AIMD, so many environments converge below WeChat's limit), but only up to
 * 90 % of the share where the last 429 came; from there, for a minute, by +2 % per step until 110 % of it: the probe
 * creeps up on a known limit instead of crossing it at full step every few seconds.
 */
export class RateGovernor {
  private readonly shares = new Map<string, Share>();

  constructor(
    private readonly counter: RateCounter,
    private readonly clock: Clock,
    private readonly sleep: Sleep,
  ) {}

  /** Waits until `tokens` sends may start for `scope` at `limitPerSecond`, or `maxWaitMs` has passed; returns tokens granted. */
  async acquire(scope: string, tokens: number, limitPerSecond: number, maxWaitMs: number): Promise<number> {
    const deadline = this.clock() + maxWaitMs;
    let granted = 0;
    while (granted < tokens) {
      const now = this.clock();
      const limit = Math.max(1, Math.floor(limitPerSecond * this.factor(scope, now)));
      const second = Math.floor(now / 1000);
      const want = tokens - granted;
      const used = await this.counter.add(scope, second, want);
      granted += Math.max(0, Math.min(want, limit - (used - want)));
      if (granted >= tokens) break;
      const nextSecond = (second + 1) * 1000;
      if (nextSecond > deadline) break;
      await this.sleep(nextSecond - this.clock() + Math.floor(Math.random() * 20));
    }
    return granted;
  }

  /** WeChat answered 429 for this scope: cut this environment's share and remember where it was hit. */
  onRateLimited(scope: string): void {
    const now = this.clock();
    const previous = this.shares.get(scope);
    if (previous && now - previous.lastCut < CUT_SPACING_MS) return;
    const current = this.factor(scope, now);
    this.shares.set(scope, {
      factor: Math.max(MIN_FACTOR, current * CUT),
      lastChange: now,
      lastCut: now,
      hitAt: current,
    });
  }

  /** Current share of the configured rate (1 = full). */
  factor(scope: string, now = this.clock()): number {
    const share = this.shares.get(scope);
    if (!share) return 1;
    const steps = Math.floor((now - share.lastChange) / STEP_MS);
    if (steps <= 0) return share.factor;
    let factor = share.factor;
    // Bounded: from the lowest share, fast and slow steps reach 1 in well under 100 steps.
    for (let step = 1; step <= Math.min(steps, 100) && factor < 1; step++) {
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
