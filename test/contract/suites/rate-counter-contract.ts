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
  });
}
