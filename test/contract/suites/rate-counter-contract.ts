import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RateCounter } from "#shared/domain/rate/rate-governor.js";

export function rateCounterContract(backend: string, makeCounter: () => RateCounter) {
  describe(`RateCounter contract (${backend})`, () => {
    it("returns the running usage of one scope and second: total, interactive, per campaign", async () => {
      const counter = makeCounter();
      const scope = `merchant:${randomUUID()}`;
      const second = 1_800_000_000;
      const big = { id: "c-big", ratePerSecond: 300 };
      // A campaign's take counts its ask (and tokens, if any) in its own count; its commit in the total and its own.
      expect((await counter.take(scope, second, { tokens: 0, asked: 3, campaign: big })).total).toBe(0);
      expect(await counter.commit(scope, second, 3, "c-big")).toEqual({ total: 3, own: 3 });
      const usage = await counter.take(scope, second, { tokens: 10, asked: 0, campaign: big });
      expect(usage.total).toBe(3);
      expect(usage.campaigns.get("c-big")).toEqual({ taken: 13, asked: 3, ratePerSecond: 300 });
      expect(await counter.commit(scope, second, 10, "c-big")).toEqual({ total: 13, own: 23 });
      // An interactive take counts in both.
      const after = await counter.take(scope, second, { tokens: 1, asked: 1 });
      expect(after).toMatchObject({ total: 14, interactive: 1, interactiveAsked: 1 });
      const small = await counter.take(scope, second, {
        tokens: 2,
        asked: 2,
        campaign: { id: "c:2", ratePerSecond: 5 },
      });
      expect([...small.campaigns.keys()].sort()).toEqual(["c-big", "c:2"]);
      expect(await counter.commit(scope, second + 1, 1, "c:2")).toEqual({ total: 1, own: 1 });
      expect((await counter.take(`${scope}-other`, second, { tokens: 2, asked: 2 })).total).toBe(2);
      expect(await counter.usage(scope, second - 1)).toBeUndefined();
      expect((await counter.usage(scope, second))?.total).toBe(14);
    });

    it("gives back tokens not granted, from the total and the taker", async () => {
      const counter = makeCounter();
      const scope = `merchant:${randomUUID()}`;
      const campaign = { id: "c1", ratePerSecond: 100 };
      await counter.take(scope, 1_800_000_000, { tokens: 0, asked: 10, campaign });
      await counter.commit(scope, 1_800_000_000, 8, "c1");
      await counter.take(scope, 1_800_000_000, { tokens: 4, asked: 4 });
      await counter.giveBack(scope, 1_800_000_000, { total: 2, own: 2, campaignId: "c1" });
      await counter.giveBack(scope, 1_800_000_000, { total: 1, own: 1 });
      const usage = await counter.usage(scope, 1_800_000_000);
      expect(usage).toMatchObject({ total: 9, interactive: 3 });
      expect(usage?.campaigns.get("c1")).toEqual({ taken: 6, asked: 10, ratePerSecond: 100 });
    });

    it("adds up 100 concurrent takes and commits exactly", async () => {
      const counter = makeCounter();
      const scope = `merchant:${randomUUID()}`;
      const campaign = { id: "c1", ratePerSecond: 500 };
      const results = await Promise.all(
        Array.from({ length: 100 }, async () => {
          await counter.take(scope, 1_800_000_000, { tokens: 0, asked: 2, campaign });
          return counter.commit(scope, 1_800_000_000, 2, "c1");
        }),
      );
      // Each commit sees both counts right after its own add: every value once.
      expect(Math.max(...results.map((r) => r.total))).toBe(200);
      expect(new Set(results.map((r) => r.total)).size).toBe(100);
      expect(new Set(results.map((r) => r.own)).size).toBe(100);
      expect((await counter.usage(scope, 1_800_000_000))?.campaigns.get("c1")?.taken).toBe(200);
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
