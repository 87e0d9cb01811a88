import type { RateCounter } from "../../domain/rate/rate-governor.js";

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
}
