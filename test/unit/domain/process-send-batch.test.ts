import { beforeEach, describe, expect, it } from "vitest";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { recipientOutRequestNo } from "#shared/domain/campaigns/campaign-keys.js";
import { createCampaign } from "#shared/domain/campaigns/create-campaign.js";
import {
  backoffSeconds,
  MAX_RECYCLES,
  processSendBatch,
  type WorkerDependencies,
} from "#shared/domain/campaigns/process-send-batch.js";
import { GatewayError } from "#shared/domain/gateway.js";
import { RateGovernor } from "#shared/domain/rate/rate-governor.js";
import {
  FakeCouponGateway,
  rateLimited,
  refused,
  unavailable,
  usedUpStock,
} from "../../helpers/fake-coupon-gateway.js";
import { memoryWorkerDependencies } from "../../helpers/memory-send-dependencies.js";

let now = 1_800_000_000_000;
let gateway: FakeCouponGateway;
let deps: WorkerDependencies;
let queue: MemorySendQueue;
/** A virtual wait: what was started before it (a granted send) runs first, then the clock moves on. */
const sleep = async (ms: number) => {
  await new Promise((resolve) => setImmediate(resolve));
  now += ms;
};

beforeEach(() => {
  now = 1_800_000_000_000;
  gateway = new FakeCouponGateway();
  queue = new MemorySendQueue();
  deps = memoryWorkerDependencies(gateway, () => now, sleep);
});

async function campaignOf(openids: string[], ratePerSecond = 100) {
  const result = await createCampaign(
    { campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway },
    {
      mchid: "1900000001",
      stockId: "9856000",
      appid: "wx-app",
      openids,
      ratePerSecond,
    },
  );
  const batch = queue
    .drain()
    .map((message, i) => ({ messageId: `m${i}`, body: JSON.stringify(message), receiveCount: 1 }));
  return { campaign: result.campaign, batch };
}

describe("createCampaign", () => {
  it("queues one message per distinct openid with a deterministic out_request_no", async () => {
    const { campaign, batch } = await campaignOf(["a", "b", "a"]);
    expect(campaign).toMatchObject({ total: 2, enqueued: 2, state: "SENDING" });
    expect(batch.map((m) => JSON.parse(m.body).outRequestNo)).toEqual([
      recipientOutRequestNo(campaign.id, "a", 0),
      recipientOutRequestNo(campaign.id, "b", 0),
    ]);
  });

  it("treats re-posting the same campaign as a replay that queues nothing new", async () => {
    const first = await campaignOf(["a", "b"]);
    const again = await createCampaign(
      { campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway },
      {
        mchid: "1900000001",
        stockId: "9856000",
        appid: "wx-app",
        openids: ["a", "b"],
        ratePerSecond: 100,
      },
    );
    expect(again).toMatchObject({ replayed: true, campaign: { id: first.campaign.id } });
    expect(queue.messages).toHaveLength(0);
  });
});

describe("processSendBatch", () => {
  it("sends every recipient once and completes the campaign; a redelivered batch sends nothing more", async () => {
    const { campaign, batch } = await campaignOf(["a", "b", "c"]);
    const result = await processSendBatch(deps, batch);
    expect(result.failures).toEqual([]);
    await processSendBatch(
      deps,
      batch.map((m) => ({ ...m, receiveCount: 2 })),
    );
    expect(gateway.issued.size).toBe(3);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ sent: 3, failed: 0, state: "COMPLETED" });
  });

  it("sets poison messages aside with the reason", async () => {
    const result = await processSendBatch(deps, [
      { messageId: "p1", body: "not json", receiveCount: 1 },
      { messageId: "p2", body: JSON.stringify({ mchid: "m" }), receiveCount: 1 },
    ]);
    expect(result.poison.map((p) => p.messageId)).toEqual(["p1", "p2"]);
    expect(result.poison[1]!.reason).toMatch(/outRequestNo/);
    expect(gateway.calls).toBe(0);
  });

  it("hands back messages it could not fit in the rate within the wait budget", async () => {
    deps.maxRateWaitMs = 0;
    const { batch } = await campaignOf(["a", "b", "c", "d"], 2);
    const result = await processSendBatch(deps, batch);
    expect(gateway.calls).toBe(2);
    expect(result.failures.map((f) => f.reason)).toEqual(["RATE_WAIT", "RATE_WAIT"]);
  });

  it("sends each grant in its own second and waits for the rest; what gets no token within the wait goes back", async () => {
    const { batch } = await campaignOf(["a", "b", "c", "d", "e"], 2);
    const seconds: number[] = [];
    const send = gateway.sendCoupon.bind(gateway);
    gateway.sendCoupon = async (call) => {
      seconds.push(Math.floor(now / 1000) - 1_800_000_000);
      return send(call);
    };
    // 2/s: two sends in each of three seconds, none holding its token past its second.
    const first = await processSendBatch(deps, batch);
    expect(seconds).toEqual([0, 0, 1, 1, 2]);
    expect(first.failures).toEqual([]);
    // With a wait of 1.5 s, the fifth gets no token: it goes back to the queue.
    deps.maxRateWaitMs = 1_500;
    now = Math.ceil(now / 1000) * 1000 + 1_000;
    const { batch: next } = await campaignOf(["f", "g", "h", "i", "j"], 2);
    const second = await processSendBatch(deps, next);
    expect(gateway.calls).toBe(9);
    expect(second.failures.map((f) => f.reason)).toEqual(["RATE_WAIT"]);
  });

  it("a send that waits for another to the same user takes its token when its own call starts, or goes back to the queue", async () => {
    // Two campaigns to one user in one batch: the second send waits for the first, and every call takes 1.2 s.
    const batchOf = async (a: string[], b: string[]) => {
      const [one, two] = [await campaignOf(a), await campaignOf(b)];
      return [...one.batch, ...two.batch].map((m, i) => ({ ...m, messageId: `${JSON.parse(m.body).openid}-${i}` }));
    };
    const send = gateway.sendCoupon.bind(gateway);
    gateway.sendCoupon = async (call) => {
      // Once the tokens being decided meanwhile are known (the call takes real time, not the decisions around it).
      await new Promise((resolve) => setImmediate(resolve));
      now += 1_200;
      return send(call);
    };
    const sent = await processSendBatch(deps, await batchOf(["a", "x"], ["a", "y"]));
    expect(gateway.calls).toBe(4);
    expect(sent.failures).toEqual([]);
    // Once more, with the later second's budget spent by another campaign by then, and a lease too short to wait for
    // the next second's (a send waits for its token at most a quarter of it): the late send goes back.
    deps.leaseMs = 400;
    gateway.sendCoupon = async (call) => {
      await new Promise((resolve) => setImmediate(resolve));
      now = Math.ceil(now / 1000) * 1000 + 850;
      await deps.governor.acquire("merchant:1900000001", { campaignId: "other", ratePerSecond: 500 }, 500, 400, 0);
      return send(call);
    };
    const late = await processSendBatch(deps, await batchOf(["b", "p"], ["b", "q"]));
    expect(gateway.calls).toBe(7);
    expect(late.failures.map((f) => [f.messageId.split("-")[0], f.reason])).toEqual([["b", "RATE_WAIT"]]);
  });

  it("takes the token with the ledger's lease held, right before the call: a slow lease write loses no token; none in time defers the send uncounted", async () => {
    const counter = new MemoryRateCounter();
    deps.governor = new RateGovernor(counter, () => now, sleep);
    const acquireLease = deps.ledger.acquireLease.bind(deps.ledger);
    // Taking the lease outlasts the second the batch started in: the lease is held from `landsAt` ms into the next.
    let landsAt = 50;
    deps.ledger.acquireLease = async (key, _at, leaseMs) => {
      now = Math.floor(now / 1000) * 1000 + 1_000 + landsAt;
      return acquireLease(key, now, leaseMs);
    };
    const seconds: number[] = [];
    const send = gateway.sendCoupon.bind(gateway);
    gateway.sendCoupon = async (call) => {
      seconds.push(Math.floor(now / 1000));
      return send(call);
    };
    const { batch } = await campaignOf(["a"]);
    const start = Math.floor(now / 1000);
    expect((await processSendBatch(deps, batch)).failures).toEqual([]);
    // Sent in the next second, with a token of that second; none was taken in the second the batch started in.
    expect(seconds).toEqual([start + 1]);
    expect((await counter.usage("merchant:1900000001", start))?.total ?? 0).toBe(0);
    expect((await counter.usage("merchant:1900000001", start + 1))?.total).toBe(1);
    // Landing in the last slot, which campaigns leave clear: the send waits (holding its lease) for the next second.
    landsAt = 950;
    const { batch: waiting } = await campaignOf(["w"]);
    expect((await processSendBatch(deps, waiting)).failures).toEqual([]);
    expect(seconds.slice(1)).toEqual([start + 3]);
    expect(now % 1000).toBeLessThan(100);
    // A lease too short for that wait (a send waits for its token at most a quarter of it): the send goes back to the queue.
    deps.leaseMs = 100;
    const { batch: next } = await campaignOf(["b"]);
    const deferred = await processSendBatch(deps, next);
    expect(deferred.failures.map((f) => [f.reason, f.delaySeconds])).toEqual([["RATE_WAIT", 1]]);
    expect(gateway.calls).toBe(2);
    const message = JSON.parse(next[0]!.body) as { mchid: string; outRequestNo: string };
    expect(await deps.ledger.get(message)).toMatchObject({ state: "PENDING", leaseUntil: 0, attempts: 0 });
  });

  it("waits for the next second when this one's budget is spent, within the rate wait", async () => {
    deps.maxRateWaitMs = 5_000;
    const { campaign, batch } = await campaignOf(["a", "b", "c"]);
    // Another campaign took the campaigns' whole budget of this second (400/s less the interactive reserve).
    now = Math.ceil(now / 1000) * 1000 + 850;
    const other = { campaignId: "other", ratePerSecond: 500 };
    expect((await deps.governor.acquire("merchant:1900000001", other, 500, 400, 0)).granted).toBe(392);
    await processSendBatch(deps, batch);
    expect(gateway.calls).toBe(3);
    expect(now % 1000).toBeLessThan(100);
    expect((await deps.campaigns.get(campaign.id))?.sent).toBe(3);
  });

  it("retries 429s with back-off and cuts the merchant's rate", async () => {
    const { batch } = await campaignOf(["a"]);
    gateway.failures.push(rateLimited());
    const result = await processSendBatch(deps, batch);
    expect(result.failures[0]).toMatchObject({ reason: "FREQUENCY_LIMITED" });
    expect(result.failures[0]!.delaySeconds).toBeGreaterThanOrEqual(2);
    expect(deps.governor.factor("merchant:1900000001")).toBe(0.9);
  });

  it("records final refusals in the campaign's failures by code", async () => {
    const { campaign, batch } = await campaignOf(["a", "b"]);
    gateway.failures.push(refused("USER_ACCOUNT_ABNORMAL"));
    await processSendBatch(deps, batch);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      sent: 1,
      failed: 1,
      failuresByCode: { USER_ACCOUNT_ABNORMAL: 1 },
    });
  });
});

describe("processSendBatch: counting", () => {
  it("adds a batch's outcomes to the campaign in one write, sends to one openid in turn included", async () => {
    const { campaign, batch } = await campaignOf(["a", "b", "c", "d"]);
    const repeat = { ...batch[0]!, messageId: "again" }; // a duplicate delivery of a's message in the same batch
    let writes = 0;
    const recordOutcomes = deps.campaigns.recordOutcomes.bind(deps.campaigns);
    deps.campaigns.recordOutcomes = async (id, tally, at) => {
      writes++;
      return recordOutcomes(id, tally, at);
    };
    gateway.stocks.set("9856000", usedUpStock("9856000", "1900000001")); // NOT_ENOUGH is then final
    gateway.failures.push(refused("NOT_ENOUGH"));
    const result = await processSendBatch(deps, [...batch, repeat]);
    expect(result.outcomes).toHaveLength(5);
    expect(writes).toBe(1);
    expect(gateway.issued.size).toBe(3);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      sent: 3,
      failed: 1,
      failuresByCode: { NOT_ENOUGH: 1 },
      state: "COMPLETED",
    });
    expect((await deps.ledger.listByCampaign(campaign.id)).items.map((r) => r.state).sort()).toEqual([
      "FAILED",
      "SENT",
      "SENT",
      "SENT",
    ]);
  });
});

describe("processSendBatch: trouble stays with its message and out of the DLQ", () => {
  it("retries each message on its own when the rate counter's store fails, instead of failing the batch", async () => {
    const { batch } = await campaignOf(["a", "b"]);
    deps.governor = new RateGovernor(
      {
        take: async () => {
          throw new Error("InternalServerError");
        },
        commit: async () => {
          throw new Error("InternalServerError");
        },
        giveBack: async () => {
          throw new Error("InternalServerError");
        },
        usage: async () => {
          throw new Error("InternalServerError");
        },
        readSignal: async () => {
          throw new Error("InternalServerError");
        },
        recordSignal: async () => {
          throw new Error("InternalServerError");
        },
      },
      () => now,
      sleep,
    );
    const result = await processSendBatch(deps, batch);
    expect(result.failures.map((f) => [f.messageId, f.reason])).toEqual([
      ["m0", "STORE_ERROR"],
      ["m1", "STORE_ERROR"],
    ]);
    expect(gateway.calls).toBe(0);
  });

  it("backs off at most 30 s after a store error, even late in a message's life", async () => {
    const { batch } = await campaignOf(["a"]);
    deps.ledger.acquireLease = async () => {
      throw new Error("InternalServerError");
    };
    for (let i = 0; i < 20; i++) {
      const result = await processSendBatch(deps, [{ ...batch[0]!, receiveCount: 8 }]);
      expect(result.failures[0]!.reason).toBe("STORE_ERROR");
      expect(result.failures[0]!.delaySeconds).toBeLessThanOrEqual(30);
    }
  });

  it("isolates a store error to its own message: the others keep their outcomes", async () => {
    const { campaign, batch } = await campaignOf(["a", "b", "c"]);
    const succeed = deps.ledger.succeed.bind(deps.ledger);
    deps.ledger.succeed = async (key, success, at) => {
      if (key.outRequestNo === JSON.parse(batch[1]!.body).outRequestNo) throw new Error("ServiceUnavailable");
      return succeed(key, success, at);
    };
    const result = await processSendBatch(deps, batch);
    expect(result.failures).toEqual([{ messageId: "m1", delaySeconds: 1, reason: "STORE_ERROR" }]);
    expect(result.outcomes.map((o) => o.outcome.status)).toEqual(["SENT", "SENT"]);
    deps.ledger.succeed = succeed;
    now += deps.leaseMs; // the failed worker's lease runs out; the retry asks WeChat again with the same key
    await processSendBatch(deps, [{ ...batch[1]!, receiveCount: 2 }]);
    expect(gateway.issued.size).toBe(3);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ sent: 3, state: "COMPLETED" });
  });

  it("sets a key used for another request aside as poison", async () => {
    const { batch } = await campaignOf(["a"]);
    const other = { ...JSON.parse(batch[0]!.body), openid: "someone-else" };
    await processSendBatch(deps, batch);
    const result = await processSendBatch(deps, [{ messageId: "x", body: JSON.stringify(other), receiveCount: 1 }]);
    expect(result.poison).toMatchObject([{ messageId: "x", reason: expect.stringMatching(/OUT_REQUEST_NO_CONFLICT/) }]);
  });

  it("on the last receive before the redrive, hands a retry back as a fresh copy instead of a failure", async () => {
    deps.maxRateWaitMs = 0;
    const { batch } = await campaignOf(["a", "b", "c"], 1);
    gateway.failures.push(unavailable());
    const last = batch.map((m) => ({ ...m, receiveCount: deps.maxReceiveCount - 1 }));
    const result = await processSendBatch(deps, last);
    expect(result.failures).toEqual([]);
    expect(result.recycled.map((r) => [r.messageId, r.reason])).toEqual([
      ["m1", "RATE_WAIT"],
      ["m2", "RATE_WAIT"],
      ["m0", "SYSTEM_ERROR"],
    ]);
    expect(result.recycled[0]!.message).toEqual(JSON.parse(batch[1]!.body));
  });

  it("lets what an operator must fix, and a send recycled too often, reach the DLQ", async () => {
    const { batch } = await campaignOf(["a", "b"]);
    // WeChat's answer did not verify (a serial the client could not resolve): WeChat may have acted.
    const unverified = new GatewayError("misconfigured", "SIGNATURE_UNKNOWN_SERIAL", "answer did not verify");
    gateway.failures.push(unverified, unavailable());
    const tired = { ...JSON.parse(batch[1]!.body), recycled: MAX_RECYCLES };
    const result = await processSendBatch(deps, [
      { ...batch[0]!, receiveCount: deps.maxReceiveCount },
      { messageId: "m1", body: JSON.stringify(tired), receiveCount: deps.maxReceiveCount },
    ]);
    expect(result.recycled).toEqual([]);
    expect(result.failures.map((f) => [f.messageId, f.reason])).toEqual([
      ["m0", "SIGNATURE_UNKNOWN_SERIAL"],
      ["m1", "SYSTEM_ERROR"],
    ]);
  });
});

describe("backoffSeconds", () => {
  it("grows with the receive count and is capped; after a 429 it is a short 2–4 s", () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffSeconds(1, "wechat")).toBe(1);
      expect(backoffSeconds(4, "wechat")).toBeLessThanOrEqual(8);
      expect(backoffSeconds(30, "wechat")).toBeLessThanOrEqual(300);
      expect(backoffSeconds(1, "rate-limited")).toBeGreaterThanOrEqual(2);
      expect(backoffSeconds(30, "rate-limited")).toBeLessThanOrEqual(4); // a 429 is spaced by the governor
    }
  });

  it("doubles the store cap with each re-enqueued copy, up to 5 min, so an outage takes hours to reach the DLQ", () => {
    const most = (recycled: number) =>
      Math.max(...Array.from({ length: 300 }, () => backoffSeconds(10, "store", recycled)));
    expect(most(0)).toBeLessThanOrEqual(30);
    expect(most(2)).toBeLessThanOrEqual(120);
    expect(most(2)).toBeGreaterThan(30);
    expect(most(20)).toBeLessThanOrEqual(300);
    expect(most(20)).toBeGreaterThan(120);
  });

  it("waits at most 30 s after a store error, however many receives came before", () => {
    const waits = Array.from({ length: 200 }, () => backoffSeconds(10, "store"));
    expect(Math.max(...waits)).toBeLessThanOrEqual(30);
    expect(Math.max(...waits)).toBeGreaterThan(15); // still exponential up to the cap, with full jitter
    expect(Math.max(...Array.from({ length: 200 }, () => backoffSeconds(10, "wechat")))).toBeGreaterThan(30);
  });
});
