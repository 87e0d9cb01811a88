import { beforeEach, describe, expect, it } from "vitest";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import { RateGovernor } from "#shared/domain/rate/rate-governor.js";

describe("RateGovernor", () => {
  let now: number;
  let governor: RateGovernor;
  const scope = "campaign:c1";
  const newGovernor = () =>
    new RateGovernor(
      new MemoryRateCounter(),
      () => now,
      async (ms) => {
        now += ms;
      },
    );
  /** The share every 2 s from now, for `steps` steps. */
  const shares = (steps: number) =>
    Array.from({ length: steps }, () => {
      now += 2_000;
      return governor.factor(scope);
    });

  beforeEach(() => {
    now = 1_800_000_000_000;
    governor = newGovernor();
  });

  it("grants a second's tokens up to the rate, then waits for the next second", async () => {
    expect(await governor.acquire(scope, 8, 10, 0)).toBe(8);
    expect(await governor.acquire(scope, 8, 10, 0)).toBe(2);
    expect(await governor.acquire(scope, 8, 10, 5_000)).toBe(8);
    expect(now).toBeGreaterThanOrEqual(1_800_000_001_000);
  });

  it("cuts the share to 70 % at a 429, once per burst", () => {
    governor.onRateLimited(scope);
    now += 100;
    governor.onRateLimited(scope);
    expect(governor.factor(scope)).toBe(0.7);
    now += 500;
    governor.onRateLimited(scope);
    expect(governor.factor(scope)).toBeCloseTo(0.49);
  });

  it("recovers fast to 90 % of where the 429 came, then creeps (+2 % per 2 s) up to it", () => {
    governor.onRateLimited(scope); // hit at 1 → 0.7
    expect(shares(7)).toEqual([0.8, 0.9, 0.92, 0.94, 0.96, 0.98, 1]);
  });

  it("a fast step stops at the band below a lower remembered limit", () => {
    governor.onRateLimited(scope); // hit at 1 → 0.7
    now += 600;
    governor.onRateLimited(scope); // hit at 0.7 → 0.49
    now += 600;
    governor.onRateLimited(scope); // hit at 0.49 → 0.343
    expect(shares(3)).toEqual([0.441, 0.461, 0.481]);
  });

  it("past 110 % of the remembered share, or a minute after the 429, recovers fast again", () => {
    governor.onRateLimited(scope);
    now += 600;
    governor.onRateLimited(scope); // hit at 0.7 → 0.49
    expect(shares(6)).toEqual([0.59, 0.63, 0.65, 0.67, 0.69, 0.71]);
    expect(shares(3)).toEqual([0.73, 0.75, 0.77]); // 0.77 ≥ 110 % of 0.7
    expect(shares(1)).toEqual([0.87]);
    const late = newGovernor();
    late.onRateLimited("s"); // hit at 1 → 0.7
    now += 60_000;
    expect(late.factor("s")).toBe(1);
  });

  it("shares a cut with every worker of the scope: another environment slows down within a second", async () => {
    const counter = new MemoryRateCounter();
    const sleep = async (ms: number) => {
      now += ms;
    };
    const [hit, other] = [new RateGovernor(counter, () => now, sleep), new RateGovernor(counter, () => now, sleep)];
    expect(await other.acquire(scope, 1, 100, 0)).toBe(1);
    hit.onRateLimited(scope);
    await Promise.resolve(); // the signal is written in the background
    expect(hit.factor(scope)).toBe(0.7);
    now += 1_000;
    await other.acquire(scope, 1, 100, 0);
    expect(other.factor(scope)).toBe(0.7);
    // And both recover on one schedule from the one cut.
    now += 4_000;
    expect(other.factor(scope)).toBe(hit.factor(scope));
  });
});
