/** What `StallWatch.observe` tells the caller to do. */
export type StallVerdict = "moving" | "still" | "warn" | "give-up";

/**
 * Notices a campaign that stopped moving. The caller reports what it sees (the counters, the chunks acknowledged) as a
 * string after every poll; when that string has not changed for `warnAfterMs` the verdict is "warn" once (until it
 * moves again: one warning per stall, not one per poll), and after `giveUpAfterMs` (when set) "give-up".
 */
export class StallWatch {
  readonly #now: () => number;
  readonly #warnAfterMs: number;
  readonly #giveUpAfterMs: number | undefined;
  #seen: string | undefined;
  #since = 0;
  #warned = false;

  constructor(now: () => number, warnAfterMs: number, giveUpAfterMs?: number) {
    this.#now = now;
    this.#warnAfterMs = warnAfterMs;
    this.#giveUpAfterMs = giveUpAfterMs;
  }

  observe(seen: string): StallVerdict {
    const at = this.#now();
    if (seen !== this.#seen) {
      this.#seen = seen;
      this.#since = at;
      this.#warned = false;
      return "moving";
    }
    const still = at - this.#since;
    if (this.#giveUpAfterMs !== undefined && still >= this.#giveUpAfterMs) return "give-up";
    if (!this.#warned && still >= this.#warnAfterMs) {
      this.#warned = true;
      return "warn";
    }
    return "still";
  }

  /** How long nothing has moved (0 right after a change). */
  stillForMs(): number {
    return this.#now() - this.#since;
  }
}

/** "90", "90s", "10m", "2h" → milliseconds; undefined when the text is none of those (or zero). */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,7})(s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const ms = n * { s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "s" | "m" | "h"];
  return ms > 0 ? ms : undefined;
}
