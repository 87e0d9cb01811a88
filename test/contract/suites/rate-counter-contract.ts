import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RateCounter } from "#shared/domain/rate/rate-governor.js";

export function rateCounterContract(backend: string, makeCounter: () => RateCounter) {
  describe(`RateCounter contract (${backend})`, () => {
    it("returns the running count of one scope and second", async () => {
      const counter = makeCounter();
      const scope = `campaign:${randomUUID()}`;
      expect(await counter.add(scope, 1_800_000_000, 3)).toBe(3);
      expect(await counter.add(scope, 1_800_000_000, 10)).toBe(13);
      expect(await counter.add(scope, 1_800_000_001, 1)).toBe(1);
      expect(await counter.add(`${scope}-other`, 1_800_000_000, 2)).toBe(2);
    });

    it("adds up 100 concurrent additions exactly", async () => {
      const counter = makeCounter();
      const scope = `merchant:${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 100 }, () => counter.add(scope, 1_800_000_000, 2)));
      expect(Math.max(...results)).toBe(200);
      expect(new Set(results).size).toBe(100);
    });

    it("keeps the newest cut of a scope, one per burst of 429s", async () => {
      const counter = makeCounter();
      const scope = `merchant:${randomUUID()}`;
      expect(await counter.readSignal(scope)).toBeUndefined();
      const first = { lastCut: 1_800_000_000_000, factor: 0.7, hitAt: 1 };
      await counter.recordSignal(scope, first, 500);
      expect(await counter.readSignal(scope)).toEqual(first);
      // Another worker's 429 of the same burst (within 500 ms): the first cut stands.
      await counter.recordSignal(scope, { lastCut: first.lastCut + 200, factor: 0.49, hitAt: 0.7 }, 500);
      expect(await counter.readSignal(scope)).toEqual(first);
      const later = { lastCut: first.lastCut + 5_000, factor: 0.63, hitAt: 0.9 };
      await counter.recordSignal(scope, later, 500);
      expect(await counter.readSignal(scope)).toEqual(later);
      expect(await counter.readSignal(`${scope}-other`)).toBeUndefined();
    });
  });
}
