import type { Clock } from "../ports.js";

/**
 * Shared per-second counters (DynamoDB item per scope and second in AWS): `add` returns the count for that second
 * after adding `tokens`. Every worker of every environment adds to the same counter, so together they hold the rate.
 */
export interface RateCounter {
  add(scope: string, epochSecond: number, tokens: number): Promise<number>;
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
  /** The share after the cut. */
  factor: number;
  /** The share at which the 429 came. */
  hitAt: number;
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
/** How often a worker reads the shared signal of a scope it is sending for. */
const SYNC_MS = 1_000;

/**
 * Holds a rate across all workers: tokens are taken from the current second's shared counter; when the second is
 * spent, wait for the next one. After HTTP 429 this environment's share is cut to 70 % (CUBIC's β) and recovers by
 * +10 % of the configured rate every 2 s (AIMD, so many environments converge below WeChat's limit), but only up to
 * 90 % of the share where the last 429 came; from there, for a minute, by +2 % per step until 110 % of it: the probe
 * creeps up on a known limit instead of crossing it at full step every few seconds.
 */
export class RateGovernor {
  private readonly shares = new Map<string, Share>();
  /** Per scope: when the shared signal was last read, and the newest cut this worker has made or adopted. */
  private readonly synced = new Map<string, { at: number; cut: number }>();

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
      await this.sync(scope);
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

  /**
   * WeChat answered 429 for this scope: cut the share, remember where it was hit, and tell the other workers through
   * the counter's store (best effort: one that does not hear of it meets the limit itself and cuts on its own).
   */
  onRateLimited(scope: string): void {
    const now = this.clock();
    const previous = this.shares.get(scope);
    if (previous && now - previous.lastCut < CUT_SPACING_MS) return;
    const current = this.factor(scope, now);
    const signal = { lastCut: now, factor: Math.max(MIN_FACTOR, current * CUT), hitAt: current };
    this.adopt(scope, signal);
    this.counter.recordSignal(scope, signal, CUT_SPACING_MS).catch(() => undefined);
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
