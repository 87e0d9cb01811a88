import { beforeEach, describe, expect, it } from "vitest";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import {
  campaignRoomOf,
  guaranteedOf,
  maxMinShares,
  type RateCounter,
  RateGovernor,
  releasedAt,
  reserveOf,
  shareGrantOf,
} from "#shared/domain/rate/rate-governor.js";

const SECOND = 1_800_000_000_000;
/** The tokens an acquisition granted. */
const acquire = (governor: RateGovernor, ...args: Parameters<RateGovernor["acquire"]>) =>
  governor.acquire(...args).then((r) => r.granted);

describe("RateGovernor", () => {
  let now: number;
  let counter: MemoryRateCounter;
  let governor: RateGovernor;
  const scope = "merchant:m1";
  const sleep = async (ms: number) => {
    now += ms;
  };
  const newGovernor = () => new RateGovernor(counter, () => now, sleep);
  const campaign = (id: string, ratePerSecond = 300) => ({ campaignId: id, ratePerSecond });
  const interactive = { interactive: true } as const;
  /** The share every 2 s from now, for `steps` steps. */
  const shares = (steps: number) =>
    Array.from({ length: steps }, () => {
      now += 2_000;
      return governor.factor(scope);
    });
  /** The shared counter, whose commits come back `ms` after their take (a slow round trip under load). */
  const slowCommits = (ms: number): RateCounter =>
    Object.assign(Object.create(null), {
      take: (...args: Parameters<RateCounter["take"]>) => counter.take(...args),
      commit: async (...args: Parameters<RateCounter["commit"]>) => {
        now += ms;
        return counter.commit(...args);
      },
      giveBack: (...args: Parameters<RateCounter["giveBack"]>) => counter.giveBack(...args),
      usage: (...args: Parameters<RateCounter["usage"]>) => counter.usage(...args),
      readSignal: (...args: Parameters<RateCounter["readSignal"]>) => counter.readSignal(...args),
      recordSignal: (...args: Parameters<RateCounter["recordSignal"]>) => counter.recordSignal(...args),
    });
  /** Lets the background read-and-record of a cut finish. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

  beforeEach(() => {
    now = SECOND;
    counter = new MemoryRateCounter();
    governor = newGovernor();
  });

  describe("pacing", () => {
    it("releases the budget in equal steps, all of it from the start of the last slot", () => {
      expect(releasedAt(0)).toBeCloseTo(1 / 9);
      expect(releasedAt(450)).toBeCloseTo(5 / 9);
      expect(releasedAt(800)).toBe(1);
      expect(releasedAt(999)).toBe(1);
    });

    it("grants a campaign a ninth of its budget per slot, waiting slot by slot", async () => {
      // Budget 100, reserve 2: the campaign's 98 come in nine steps of ⌈98 × k/9⌉.
      expect(await acquire(governor, scope, campaign("a"), 100, 100, 0)).toBe(11);
      expect(now).toBe(SECOND);
      // Two more slots within the same second: ⌈98 × 3/9⌉ = 33 in all.
      expect(await acquire(governor, scope, campaign("a"), 100, 100, 250)).toBe(33 - 11);
      expect(now - SECOND).toBeGreaterThanOrEqual(200);
      expect(now - SECOND).toBeLessThan(250);
      expect(await acquire(governor, scope, campaign("a"), 100, 100, 700)).toBe(98 - 33);
      expect(now - SECOND).toBeGreaterThanOrEqual(800);
      expect(now - SECOND).toBeLessThan(1_000);
      // The rest comes in the next second.
      expect(await acquire(governor, scope, campaign("a"), 5, 100, 2_000)).toBe(5);
      expect(now - SECOND).toBeGreaterThanOrEqual(1_000);
    });

    it("keeps the last slot clear of campaign sends: a campaign asking then waits for the next second", async () => {
      now = SECOND + 950;
      expect(await governor.acquire(scope, campaign("a"), 5, 100, 1_000)).toEqual({
        granted: 5,
        second: SECOND / 1000 + 1,
      });
      expect(now - SECOND).toBeGreaterThanOrEqual(1_000);
      now = SECOND + 1_950;
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(1);
    });

    it("gives back what it may not keep, so a later taker of the same second is not crowded out", async () => {
      await acquire(governor, scope, campaign("a"), 500, 100, 0);
      expect((await counter.usage(scope, SECOND / 1000))?.total).toBe(11);
    });
  });

  describe("interactive reserve", () => {
    it("keeps room for the interactive sends still to come in the second, at least 2 % of the budget (at least 1)", () => {
      // Nobody sent interactively of late: the floor, at every moment.
      expect(reserveOf(100, 0, 0)).toBe(2);
      expect(reserveOf(10, 0, 0)).toBe(1);
      expect(reserveOf(500, 0, 500)).toBe(10);
      // A demand of 6/s: its mean and three Poisson deviations for the whole second, for what is left of it later.
      expect(reserveOf(100, 6, 0)).toBe(Math.ceil(6 + 3 * Math.sqrt(6)));
      expect(reserveOf(100, 6, 800)).toBe(Math.ceil(1.2 + 3 * Math.sqrt(1.2)));
      expect(reserveOf(100, 6, 990)).toBe(2);
      expect(reserveOf(100, 80, 0)).toBe(50);
      // Always granted to interactive sends whatever the count holds: the demand, at least the floor.
      expect(guaranteedOf(100, 0)).toBe(2);
      expect(guaranteedOf(100, 6)).toBe(6);
      // Campaigns' room: the budget less the interactive sends expected before their last slot and the reserve then.
      expect(campaignRoomOf(100, 0, 0, 0)).toBe(98);
      expect(campaignRoomOf(100, 6, 0, 0)).toBe(100 - Math.ceil(6 * 0.8) - reserveOf(100, 6, 800));
      expect(campaignRoomOf(100, 6, 500, 2)).toBe(100 - 2 - Math.ceil(6 * 0.3) - reserveOf(100, 6, 800));
      expect(campaignRoomOf(100, 6, 850, 7)).toBe(100 - 7 - reserveOf(100, 6, 850));
    });

    it("an interactive send never waits behind a campaign: it takes the reserve and anything campaigns left", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, campaign("big", 500), 200, 100, 0)).toBe(98);
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(1);
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(1);
      // The budget is spent: the next one waits for the next second, within its bound.
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(0);
      expect(await acquire(governor, scope, interactive, 1, 100, 2_000)).toBe(1);
      expect(now).toBeGreaterThanOrEqual(SECOND + 1_000);
      expect(now).toBeLessThan(SECOND + 1_010);
    });

    it("takes its reserve even while campaign tokens about to be given back fill the count", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, campaign("big", 500), 200, 100, 0)).toBe(98);
      // Workers of the campaign have committed tokens to the total and not yet given back what did not fit.
      await counter.commit(scope, SECOND / 1000, 40, "big");
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(1);
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(1);
      expect(await acquire(governor, scope, interactive, 1, 100, 0)).toBe(0);
    });

    it("is not paced: early in the second it takes more than the campaigns' first step", async () => {
      expect(await acquire(governor, scope, campaign("big", 500), 200, 100, 0)).toBe(11);
      expect(await acquire(governor, scope, interactive, 30, 100, 0)).toBe(30);
    });

    it("grows with recent interactive asks, and campaigns leave it free", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, interactive, 20, 100, 0)).toBe(20);
      now = SECOND + 1_850;
      // A demand of 20/s, none of it taken yet this second: campaigns leave the 20 guaranteed to interactive sends.
      expect(await acquire(governor, scope, campaign("big", 500), 200, 100, 0)).toBe(80);
      // A quiet second later the demand is the mean of the last 3 s, 20 / 3: a stream does not vanish in one quiet
      // second (campaigns leave ⌈20 / 3⌉ = 7 free).
      now = SECOND + 2_850;
      expect(await acquire(governor, scope, campaign("big", 500), 200, 100, 0)).toBe(93);
      now = SECOND + 4_850;
      expect(await acquire(governor, scope, campaign("big", 500), 200, 100, 0)).toBe(98);
    });

    /**
     * Seconds of two campaigns asking for more than the budget at every slot (as their waiting workers do) beside
     * interactive sends arriving at `arrivals(second)` ms into each second, every taker asking once (no wait):
     * returns the interactive sends that found no token, and everything granted per second.
     */
    async function contend(seconds: number, arrivals: (second: number) => number[]) {
      let waited = 0;
      const grantedPerSecond: number[] = [];
      for (let s = 0; s < seconds; s++) {
        const base = SECOND + s * 1_000;
        const events = [
          ...Array.from({ length: 10 }, (_, slot) => ({ at: slot * 100 + 3, who: "campaigns" as const })),
          ...arrivals(s).map((at) => ({ at, who: "interactive" as const })),
        ].sort((a, b) => a.at - b.at);
        let granted = 0;
        for (const event of events) {
          now = base + event.at;
          if (event.who === "interactive") {
            const got = await acquire(governor, scope, interactive, 1, 100, 0);
            granted += got;
            if (got === 0) waited++;
          } else {
            for (const id of ["big", "medium"]) granted += await acquire(governor, scope, campaign(id), 60, 100, 0);
          }
        }
        grantedPerSecond.push(granted);
      }
      return { waited, grantedPerSecond };
    }

    it("a steady 5/s stream that lands 4 in one clock second and 6 in the next never waits (CI's failing second)", async () => {
      // Every 200 ms, shifted so that a send lands just before one second's end and the next just after: 4, 6, 4, 6 …
      const { waited, grantedPerSecond } = await contend(20, (s) =>
        s % 2 === 0 ? [150, 350, 550, 750] : [0, 1, 195, 395, 595, 995],
      );
      expect(waited).toBe(0);
      // What the reserve costs campaigns at this demand: at least 95 % of the budget is used in each full second.
      expect(Math.min(...grantedPerSecond.slice(3))).toBeGreaterThanOrEqual(95);
    });

    it("Poisson arrivals of 5/s beside two campaigns: at most 3 seconds in 2,000 have an interactive send wait", async () => {
      // A fixed-seed generator, so that the case is the same on every run.
      let seed = 15;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const poisson = () => {
        const arrivals: number[] = [];
        for (let t = -Math.log(1 - random()) / 5; t < 1; t += -Math.log(1 - random()) / 5)
          arrivals.push(Math.floor(t * 1_000));
        return arrivals;
      };
      const { waited, grantedPerSecond } = await contend(2_000, poisson);
      expect(waited).toBeLessThanOrEqual(3);
      const used = grantedPerSecond.slice(3).reduce((a, b) => a + b, 0) / (grantedPerSecond.length - 3);
      expect(used).toBeGreaterThanOrEqual(95.5);
    });
  });

  describe("fair split among campaigns", () => {
    it("max-min: a demand below the equal share is met in full, the rest is split among the others", () => {
      const shares = maxMinShares(
        98,
        new Map([
          ["big1", 300],
          ["small", 3],
          ["big2", 300],
        ]),
      );
      expect(shares.get("small")).toBe(3);
      expect(shares.get("big1")).toBe(47.5);
      expect(shares.get("big2")).toBe(47.5);
      expect(
        maxMinShares(
          98,
          new Map([
            ["a", 10],
            ["b", 20],
          ]),
        ),
      ).toEqual(
        new Map([
          ["a", 10],
          ["b", 20],
        ]),
      );
    });

    it("splits the campaigns' budget evenly among campaigns active in this or the last second", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, campaign("a"), 200, 100, 0)).toBe(98);
      expect(await acquire(governor, scope, campaign("b"), 200, 100, 0)).toBe(0);
      // Next second: both asked in the last one, so each gets half of 98.
      now = SECOND + 1_850;
      expect(await acquire(governor, scope, campaign("a"), 200, 100, 0)).toBe(49);
      expect(await acquire(governor, scope, campaign("b"), 200, 100, 0)).toBe(49);
    });

    it("a 3-recipient campaign gets its tokens at once while a big one runs; the big one keeps the rest", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, campaign("big"), 200, 100, 0)).toBe(98);
      now = SECOND + 1_000;
      // The big one's first step of the second (⌈98/9⌉, before the small one shows up) ...
      expect(await acquire(governor, scope, campaign("big"), 200, 100, 0)).toBe(11);
      // ... leaves the small one its 3 tokens at once, however many more big ones come first.
      expect(await acquire(governor, scope, campaign("big"), 200, 100, 0)).toBe(0);
      expect(await acquire(governor, scope, campaign("small"), 3, 100, 0)).toBe(3);
      now = SECOND + 1_850;
      expect(await acquire(governor, scope, campaign("big"), 200, 100, 0)).toBe(95 - 11);
    });

    it("tells whether a campaign's sends waited for tokens in the last second (waiting_for_rate)", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, campaign("small"), 3, 100, 0)).toBe(3);
      expect(await acquire(governor, scope, campaign("a"), 200, 100, 0)).toBe(95);
      now = SECOND + 1_100;
      expect(await governor.waitedForRate(scope, "a")).toBe(true);
      expect(await governor.waitedForRate(scope, "small")).toBe(false);
      expect(await governor.waitedForRate(scope, "idle")).toBe(false);
    });

    it("a big campaign's workers asking far beyond its share do not crowd out a small one", async () => {
      now = SECOND + 850;
      expect(await acquire(governor, scope, campaign("big"), 200, 100, 0)).toBe(98);
      now = SECOND + 1_000;
      // Ten of the big one's workers at once, each asking for 50.
      for (let i = 0; i < 10; i++) await acquire(newGovernor(), scope, campaign("big"), 50, 100, 0);
      expect(await acquire(governor, scope, campaign("small"), 3, 100, 0)).toBe(3);
    });

    it("a campaign's asks refused in one slot leave nothing in its count for the next slot's asks to be refused on", async () => {
      // The counter answers at once but gives back late (a loaded store: round trips of 100–300 ms), so anything a
      // refused ask added would still be in the count when the next slot's asks come.
      const late: (() => Promise<void>)[] = [];
      const slow: RateCounter = {
        take: (...args) => counter.take(...args),
        commit: (...args) => counter.commit(...args),
        giveBack: async (...args) => {
          late.push(() => counter.giveBack(...args));
        },
        usage: (...args) => counter.usage(...args),
        readSignal: (...args) => counter.readSignal(...args),
        recordSignal: (...args) => counter.recordSignal(...args),
      };
      const worker = () => new RateGovernor(slow, () => now, sleep);
      // Slot 7: the campaign has had its ⌈98 × 8/9⌉ = 88; four more workers ask for 10 each and are refused.
      now = SECOND + 750;
      expect(await acquire(worker(), scope, campaign("a"), 200, 100, 0)).toBe(88);
      now = SECOND + 790;
      expect(await Promise.all([1, 2, 3, 4].map(() => acquire(worker(), scope, campaign("a"), 10, 100, 0)))).toEqual([
        0, 0, 0, 0,
      ]);
      // Slot 8 releases the last 10 of its share, before any give-back has landed: they are granted.
      now = SECOND + 850;
      expect(await acquire(worker(), scope, campaign("a"), 10, 100, 0)).toBe(10);
      for (const giveBack of late) await giveBack();
      expect((await counter.usage(scope, SECOND / 1000))?.total).toBe(98);
    });

    it("caps each campaign at its own rate, leaving the rest to the others", async () => {
      now = SECOND + 850;
      await acquire(governor, scope, campaign("slow", 10), 200, 100, 0);
      await acquire(governor, scope, campaign("fast"), 200, 100, 0);
      now = SECOND + 1_850;
      expect(await acquire(governor, scope, campaign("slow", 10), 200, 100, 0)).toBe(10);
      expect(await acquire(governor, scope, campaign("fast"), 200, 100, 0)).toBe(88);
    });

    it("returns the second its tokens are for, never carrying them into the next", async () => {
      now = SECOND + 850;
      expect(await governor.acquire(scope, campaign("a"), 200, 100, 0)).toEqual({ granted: 98, second: SECOND / 1000 });
      // The rest would come next second: the taker returns with this second's tokens instead of carrying them over.
      now = SECOND + 1_850;
      const late = newGovernor();
      const slowSleep = new RateGovernor(
        counter,
        () => now,
        async (ms) => {
          now += ms + 1_000; // a wake far too late
        },
      );
      expect(await acquire(late, scope, campaign("a"), 1, 100, 0)).toBe(1);
      now = SECOND + 2_000;
      expect(await slowSleep.acquire(scope, campaign("b", 2), 5, 100, 10_000)).toEqual({
        granted: 2,
        second: SECOND / 1000 + 2,
      });
    });

    it("a campaign taker refused in the last campaign slot looks again within it, not only next second", () => {
      // Budget 100, campaigns' room 98, 88 granted; this taker asks 10 while another batch of the campaign holds 10 a
      // moment (committed beyond its share, about to be given back): the count shows the share spent.
      const refusedAt = (msIntoSecond: number, held: number) =>
        shareGrantOf({
          want: 10,
          usage: {
            total: 88,
            interactive: 0,
            interactiveAsked: 0,
            campaigns: new Map([["a", { taken: 88 + held, asked: 120, ratePerSecond: 300 }]]),
          },
          recent: { previous: undefined, interactiveDemand: 0 },
          budget: 100,
          msIntoSecond,
          taker: campaign("a"),
        });
      expect(refusedAt(850, 10)).toMatchObject({ grant: 0, retryAtMs: 875 });
      // Once the hold is given back, the last ten come.
      expect(refusedAt(875, 0)).toMatchObject({ grant: 10 });
      // Not past the slot's end (earlier slots' refusals wait for the next slot, see "pacing").
      expect(refusedAt(880, 10).retryAtMs).toBe(1000);
    });

    it("gives back a campaign's grant known too late in its second to be sent within it, and asks again in the next", async () => {
      // The commit's round trip takes 120 ms: decided in the last campaign slot, the grant is known 30 ms before the
      // second's end.
      const slow = slowCommits(120);
      const worker = new RateGovernor(slow, () => now, sleep);
      now = SECOND + 850;
      expect(await worker.acquire(scope, campaign("a"), 10, 100, 2_000)).toEqual({
        granted: 10,
        second: SECOND / 1000 + 1,
      });
      expect((await counter.usage(scope, SECOND / 1000))?.total).toBe(0);
      // Known 170 ms before the end (decided at 710 ms): kept.
      now = SECOND + 2_710;
      expect(await worker.acquire(scope, campaign("a"), 10, 100, 0)).toEqual({
        granted: 10,
        second: SECOND / 1000 + 2,
      });
    });

    it("with slow counter round trips, paces by when the grant will be known, so the last slot's grant is kept", async () => {
      // Every commit comes back 150 ms after its take: a grant decided at the last campaign slot's start (800 ms)
      // would be known at 950 ms and given back.
      const slow = slowCommits(150);
      const worker = new RateGovernor(slow, () => now, sleep);
      // The worker learns its lag from its grants (a minute earlier, one token a second).
      for (let i = 0; i < 20; i++) {
        now = SECOND - 60_000 + i * 1_000;
        await worker.acquire(scope, campaign("warm"), 1, 100, 0);
      }
      // Asked at 660 ms, known at 810 ms: paced as the last campaign slot, the whole share (not ⌈98 × 7/9⌉ = 77).
      now = SECOND + 660;
      expect(await worker.acquire(scope, campaign("a"), 200, 100, 0)).toEqual({ granted: 98, second: SECOND / 1000 });
      expect(now).toBe(SECOND + 810);
      // Asked at 760 ms, it would be known in the last slot, which campaigns leave clear: nothing.
      now = SECOND + 1_760;
      expect(await acquire(worker, scope, campaign("a"), 200, 100, 0)).toBe(0);
    });

    it("never grants past the budget, whatever the interleaving of many takers", async () => {
      now = SECOND + 850;
      const takers = ["a", "b", "c", "d"].flatMap((id) => Array.from({ length: 10 }, () => campaign(id)));
      const granted = await Promise.all(
        [...takers, interactive, interactive].map((t) => acquire(governor, scope, t, 7, 100, 0)),
      );
      expect(granted.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100);
      expect((await counter.usage(scope, SECOND / 1000))?.total).toBe(granted.reduce((a, b) => a + b, 0));
    });
  });

  describe("adaptive limit", () => {
    it("cuts the share to 90 % at a 429, once per burst", async () => {
      governor.onRateLimited(scope, 100);
      now += 100;
      governor.onRateLimited(scope, 100);
      expect(governor.factor(scope)).toBe(0.9);
      now += 500;
      governor.onRateLimited(scope, 100);
      expect(governor.factor(scope)).toBeCloseTo(0.81);
      await settle();
    });

    it("cuts to 90 % of what was actually sent in the last second when that was below the budget", async () => {
      now = SECOND + 850;
      await acquire(governor, scope, campaign("a"), 60, 100, 0);
      now = SECOND + 1_100;
      governor.onRateLimited(scope, 100);
      await settle();
      expect(governor.factor(scope)).toBeCloseTo(0.54);
      expect((await counter.readSignal(scope))?.hitAt).toBeCloseTo(0.6);
    });

    it("while the rate ramps up, takes the share in use from the 429's own second, not the lower last one", async () => {
      const s = SECOND / 1000;
      await counter.take(scope, s, { tokens: 80, asked: 80 });
      await counter.take(scope, s + 1, { tokens: 100, asked: 100 });
      now = SECOND + 1_900;
      governor.onRateLimited(scope, 100, s + 1);
      await settle();
      expect(governor.factor(scope)).toBeCloseTo(0.9);
      expect((await counter.readSignal(scope))?.hitAt).toBeCloseTo(1);
      // The second so far counts only beside a last second with sends: after an idle second, a 429 on the first few
      // sends says nothing of a rate.
      const idle = newGovernor();
      await counter.take(scope, s + 5, { tokens: 3, asked: 3 });
      now = SECOND + 5_100;
      idle.onRateLimited(scope, 100, s + 5);
      await settle();
      expect(idle.factor(scope)).toBeCloseTo(0.9);
    });

    it("cuts nothing for a 429 answered after its token's second (a send that spilled into the next second)", async () => {
      const s = SECOND / 1000;
      await counter.take(scope, s, { tokens: 100, asked: 100 });
      now = SECOND + 1_010;
      governor.onRateLimited(scope, 100, s);
      await settle();
      expect(governor.factor(scope)).toBe(1);
      expect(await counter.readSignal(scope)).toBeUndefined();
      // One answered within its token's second does cut.
      governor.onRateLimited(scope, 100, s + 1);
      await settle();
      expect(governor.factor(scope)).toBeCloseTo(0.9);
    });

    it("recovers fast to 95 % of where the 429 came, then creeps (+1 % per 2 s) up to it", async () => {
      governor.onRateLimited(scope, 100); // hit at 1 → 0.9
      await settle();
      expect(shares(7)).toEqual([0.95, 0.96, 0.97, 0.98, 0.99, 1, 1]);
    });

    it("finds a lower limit and lives just below it", async () => {
      // Another sender takes 40 % of WeChat's limit: every 429 comes once the share passes 0.6.
      const limit = 0.6;
      const seen: number[] = [];
      for (let step = 0; step < 60; step++) {
        now += 2_000;
        const share = governor.factor(scope);
        seen.push(share);
        if (share > limit) governor.onRateLimited(scope, 100);
      }
      await settle();
      const steady = seen.slice(20);
      const mean = steady.reduce((a, b) => a + b, 0) / steady.length;
      expect(mean).toBeGreaterThan(0.9 * limit);
      expect(mean).toBeLessThanOrEqual(limit * 1.01);
      // Above the limit at most one step in five: the probe crosses it by one slow step, then cuts.
      expect(steady.filter((s) => s > limit).length).toBeLessThanOrEqual(steady.length / 5);
    });

    it("a minute after the 429, recovers fast again", async () => {
      governor.onRateLimited(scope, 100);
      now += 600;
      governor.onRateLimited(scope, 100); // hit at 0.9 → 0.81
      await settle();
      expect(shares(3)).toEqual([0.855, 0.865, 0.875]);
      now += 60_000;
      expect(governor.factor(scope)).toBe(1);
    });

    it("the budget follows the share", async () => {
      now = SECOND + 850;
      governor.onRateLimited(scope, 100); // → 0.9: budget 90, reserve 2
      await settle();
      expect(await acquire(governor, scope, campaign("a"), 200, 100, 0)).toBe(88);
    });

    it("shares a cut with every worker of the scope: another environment slows down within a second", async () => {
      const [hit, other] = [newGovernor(), newGovernor()];
      expect(await acquire(other, scope, campaign("a"), 1, 100, 0)).toBe(1);
      hit.onRateLimited(scope, 100);
      await settle(); // the signal is written in the background
      expect(hit.factor(scope)).toBe(0.9);
      now += 1_000;
      await acquire(other, scope, campaign("a"), 1, 100, 0);
      expect(other.factor(scope)).toBe(0.9);
      // And both recover on one schedule from the one cut.
      now += 4_000;
      expect(other.factor(scope)).toBe(hit.factor(scope));
    });
  });
});
