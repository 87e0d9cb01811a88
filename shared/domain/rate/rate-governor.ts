import type { Clock } from "../ports.js";

/**
 * Shared per-second counters (DynamoDB item per scope and second in AWS): `add` returns the count for that second
 * after adding `tokens`. Every worker of every environment adds to the same counter, so together they hold the rate.
 */
export interface RateCounter {
  add(scope: string, epochSecond: number, tokens: number): Promise<number>;
}

export type Sleep = (ms: number) => Promise<void>;

/**
 * Holds a rate across all workers: tokens are taken from the current second's shared counter; when the second is
 * spent, wait for the next one. After HTTP 429 the rate is cut (×0.5) and recovers slowly (+10 % of the configured
 * rate every 2 s without 429), per environment: classic AIMD, so many environments converge below WeChat's limit.
 */
export class RateGovernor {
  private readonly factors = new Map<string, { factor: number; lastChange: number }>();

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

  /** WeChat answered 429 for this scope: halve this environment's share. */
  onRateLimited(scope: string): void {
    const now = this.clock();
    const state = this.factors.get(scope) ?? { factor: 1, lastChange: now };
    // One cut per 500 ms: a burst of 429s from one batch is one signal, not ten.
    if (state.factor < 1 && now - state.lastChange < 500) return;
    this.factors.set(scope, { factor: Math.max(0.05, state.factor * 0.5), lastChange: now });
  }

  /** Current share of the configured rate (1 = full). */
  factor(scope: string, now = this.clock()): number {
    const state = this.factors.get(scope);
    if (!state) return 1;
    const steps = Math.floor((now - state.lastChange) / 2000);
    if (steps <= 0) return state.factor;
    const factor = Math.min(1, state.factor + 0.1 * steps);
    if (factor >= 1) this.factors.delete(scope);
    else this.factors.set(scope, { factor, lastChange: state.lastChange + steps * 2000 });
    return factor;
  }
}
