import { describe, expect, it } from "vitest";
import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { BatchOutcomeCounter, coalesceByCampaign } from "#shared/domain/campaigns/batch-outcome-counter.js";
import { outcomeTally } from "#shared/domain/campaigns/outcome-tally.js";
import type { CampaignCounts } from "#shared/domain/ports.js";

const T0 = 1_800_000_000_000;

async function storeWith(...ids: string[]) {
  const store = new MemoryCampaignStore();
  for (const id of ids) {
    await store.create({
      id,
      requestHash: "h",
      mchid: "m",
      stockId: "s",
      appid: "a",
      total: 100,
      ratePerSecond: 10,
      createdAt: T0,
    });
  }
  const writes: { id: string; tally: CampaignCounts }[] = [];
  const recordOutcomes = store.recordOutcomes.bind(store);
  store.recordOutcomes = async (id, tally, now) => {
    writes.push({ id, tally: structuredClone(tally) });
    return recordOutcomes(id, tally, now);
  };
  return { store, writes };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("BatchOutcomeCounter", () => {
  it("writes the outcomes of a batch in one update per campaign, and every send sees the sum", async () => {
    const { store, writes } = await storeWith("a", "b");
    const counter = new BatchOutcomeCounter(store, () => T0, 60_000);
    const seen = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        counter.track(async (count) => {
          await tick();
          const campaign = i < 7 ? "a" : "b";
          return count(campaign, i % 3 === 0 ? outcomeTally("FAILED", "NOT_ENOUGH") : outcomeTally("SENT"));
        }),
      ),
    );
    expect(writes.map((w) => w.id).sort()).toEqual(["a", "b"]);
    expect(writes.find((w) => w.id === "a")!.tally).toEqual({ sent: 4, failed: 3, failuresByCode: { NOT_ENOUGH: 3 } });
    expect(seen.filter((c) => c.id === "a").every((c) => c.sent === 4 && c.failed === 3)).toBe(true);
    expect(await store.get("b")).toMatchObject({ sent: 2, failed: 1 });
  });

  it("does not wait for a send that ends without counting, nor past maxWaitMs for a slow one", async () => {
    const { store, writes } = await storeWith("a");
    const counter = new BatchOutcomeCounter(store, () => T0, 20);
    let slowDone = false;
    const slow = counter.track(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      slowDone = true;
    });
    const quiet = counter.track(async () => "no campaign");
    const counted = await counter.track(async (count) => count("a", outcomeTally("SENT")));
    expect(counted.sent).toBe(1);
    expect(slowDone).toBe(false);
    expect(await quiet).toBe("no campaign");
    await slow;
    expect(writes).toHaveLength(1);
  });

  it("fails every send waiting on a write that failed, and counts nothing for them", async () => {
    const { store } = await storeWith("a");
    store.recordOutcomes = async () => {
      throw new Error("ServiceUnavailable");
    };
    const counter = new BatchOutcomeCounter(store, () => T0);
    const results = await Promise.allSettled(
      [1, 2].map(() => counter.track(async (count) => count("a", outcomeTally("SENT")))),
    );
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});

describe("coalesceByCampaign", () => {
  it("runs one recount at a time per campaign, plus one more for requests made during it", async () => {
    const runs: string[] = [];
    let release: () => void = () => {};
    const reconcile = coalesceByCampaign(async (id) => {
      runs.push(id);
      if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = reconcile("a");
    const during = [reconcile("a"), reconcile("a"), reconcile("a")];
    const other = reconcile("b");
    expect(runs).toEqual(["a", "b"]);
    release();
    await Promise.all([first, ...during, other]);
    expect(runs).toEqual(["a", "b", "a"]);
    await reconcile("a");
    expect(runs).toEqual(["a", "b", "a", "a"]);
  });
});
