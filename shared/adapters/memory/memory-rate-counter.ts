import type { RateCounter, RateSignal } from "../../domain/rate/rate-governor.js";

/** In-memory `RateCounter`: one counter per scope and second (old seconds are dropped). */
export class MemoryRateCounter implements RateCounter {
  readonly #counts = new Map<string, number>();

  async add(scope: string, epochSecond: number, tokens: number): Promise<number> {
    const key = `${scope}#${epochSecond}`;
    const count = (this.#counts.get(key) ?? 0) + tokens;
    this.#counts.set(key, count);
    if (this.#counts.size > 10_000) this.#counts.clear();
    return count;
  }

  readonly #signals = new Map<string, RateSignal>();

  async readSignal(scope: string): Promise<RateSignal | undefined> {
    const signal = this.#signals.get(scope);
    return signal === undefined ? undefined : { ...signal };
  }

  async recordSignal(scope: string, signal: RateSignal, spacingMs: number): Promise<void> {
    const recorded = this.#signals.get(scope);
    if (recorded && recorded.lastCut >= signal.lastCut - spacingMs) return;
    this.#signals.set(scope, { ...signal });
  }
}
