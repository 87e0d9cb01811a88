import { beforeEach, describe, expect, it } from "vitest";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { addCampaignChunk } from "#shared/domain/campaigns/add-campaign-chunk.js";
import {
  campaignStatus,
  changeCampaignControl,
  type LifecycleDependencies,
  listCampaigns,
  MAX_SCHEDULE_AHEAD_MS,
} from "#shared/domain/campaigns/campaign-lifecycle.js";
import { createCampaign, openCampaign } from "#shared/domain/campaigns/create-campaign.js";
import {
  HOLD_COPY_AFTER_RECEIVES,
  PAUSED_HOLD_SECONDS,
  processSendBatch,
  type QueuedSend,
  type WorkerDependencies,
} from "#shared/domain/campaigns/process-send-batch.js";
import { refreshCampaign } from "#shared/domain/campaigns/reconcile-campaign.js";
import { GatewayError } from "#shared/domain/gateway.js";
import { RateGovernor } from "#shared/domain/rate/rate-governor.js";
import { FakeCouponGateway } from "../../helpers/fake-coupon-gateway.js";
import { memoryWorkerDependencies } from "../../helpers/memory-send-dependencies.js";

let now = 1_800_000_000_000;
let gateway: FakeCouponGateway;
let deps: WorkerDependencies;
let queue: MemorySendQueue;
let lifecycle: LifecycleDependencies;
let slept: number[];
const MCHID = "1900000001";

beforeEach(() => {
  now = 1_800_000_000_000;
  gateway = new FakeCouponGateway();
  queue = new MemorySendQueue();
  slept = [];
  deps = memoryWorkerDependencies(
    gateway,
    () => now,
    (ms) => {
      now += ms;
    },
  );
  lifecycle = {
    campaigns: deps.campaigns,
    ledger: deps.ledger,
    clock: () => now,
    gateway,
    settleMs: 1_500,
    sleep: async (ms) => {
      slept.push(ms);
    },
  };
});

const campaignDeps = () => ({ campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway });

async function campaignOf(openids: string[], options: { startAt?: number; campaignId?: string } = {}) {
  const result = await createCampaign(campaignDeps(), {
    mchid: MCHID,
    stockId: "9856000",
    appid: "wx-app",
    openids,
    ratePerSecond: 100,
    ...options,
  });
  return { campaign: result.campaign, batch: drain() };
}

function drain(receiveCount = 1): QueuedSend[] {
  return queue.drain().map((message, i) => ({ messageId: `m${i}`, body: JSON.stringify(message), receiveCount }));
}

const again = (batch: QueuedSend[], receiveCount: number) => batch.map((m) => ({ ...m, receiveCount }));

describe("pause and resume", () => {
  it("holds a paused campaign's messages without calling WeChat, then sends them once resumed", async () => {
    const { campaign, batch } = await campaignOf(["a", "b", "c"]);
    const paused = await changeCampaignControl(lifecycle, campaign.id, "pause");
    expect(paused.changed).toBe(true);
    expect(campaignStatus(paused.campaign, now)).toEqual({ state: "PAUSED", reason: "paused" });
    // Acknowledged only after the settle time (no send whose worker read the campaign before can start later).
    expect(slept).toEqual([1_500]);

    const held = await processSendBatch(deps, batch);
    expect(gateway.calls).toBe(0);
    expect(held.failures).toEqual([]);
    expect(held.recycled).toEqual([]);
    expect(held.held.map((h) => [h.messageId, h.reason, h.delaySeconds, h.asCopy])).toEqual([
      ["m0", "paused", PAUSED_HOLD_SECONDS.min, false],
      ["m1", "paused", PAUSED_HOLD_SECONDS.min, false],
      ["m2", "paused", PAUSED_HOLD_SECONDS.min, false],
    ]);
    // Later receives wait longer, and the third goes back as a fresh copy: a long pause burns no receive budget.
    const third = await processSendBatch(deps, again(batch, HOLD_COPY_AFTER_RECEIVES));
    expect(third.held.map((h) => [h.delaySeconds, h.asCopy])).toEqual(
      Array(3).fill([PAUSED_HOLD_SECONDS.min * 4, true]),
    );
    const copy = await processSendBatch(deps, [
      { messageId: "copy", body: JSON.stringify({ ...JSON.parse(batch[0]!.body), held: 5 }), receiveCount: 1 },
    ]);
    expect(copy.held[0]).toMatchObject({ delaySeconds: PAUSED_HOLD_SECONDS.max, asCopy: false });
    // The recipients are durable (PENDING, never leased) but no send started.
    const records = (await deps.ledger.listByCampaign(campaign.id)).items;
    expect(records.map((r) => [r.state, r.attempts])).toEqual(records.map(() => ["PENDING", 0]));

    const resumed = await changeCampaignControl(lifecycle, campaign.id, "resume");
    expect(resumed).toMatchObject({ changed: true, campaign: { control: "RUNNING", state: "SENDING" } });
    expect(slept).toEqual([1_500]); // a resume need not wait
    const sent = await processSendBatch(deps, again(batch, 2));
    expect(sent.held).toEqual([]);
    expect(gateway.issued.size).toBe(3);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ sent: 3, state: "COMPLETED" });
  });

  it("answers a repeated pause or resume with changed: false, and refuses a completed or cancelled campaign", async () => {
    const { campaign, batch } = await campaignOf(["a"]);
    await changeCampaignControl(lifecycle, campaign.id, "pause");
    expect(await changeCampaignControl(lifecycle, campaign.id, "pause")).toMatchObject({ changed: false });
    await changeCampaignControl(lifecycle, campaign.id, "resume");
    expect(await changeCampaignControl(lifecycle, campaign.id, "resume")).toMatchObject({ changed: false });
    await processSendBatch(deps, batch);
    expect((await deps.campaigns.get(campaign.id))?.state).toBe("COMPLETED");
    for (const action of ["pause", "resume", "cancel"] as const) {
      await expect(changeCampaignControl(lifecycle, campaign.id, action)).rejects.toMatchObject({
        code: "CAMPAIGN_COMPLETED",
        field: "campaign_id",
      });
    }

    const other = await campaignOf(["b"], { campaignId: "other" });
    await changeCampaignControl(lifecycle, other.campaign.id, "cancel");
    for (const action of ["pause", "resume"] as const) {
      await expect(changeCampaignControl(lifecycle, "other", action)).rejects.toMatchObject({
        code: "CAMPAIGN_CANCELLED",
      });
    }
    expect(await changeCampaignControl(lifecycle, "other", "cancel")).toMatchObject({ changed: false });
    await expect(changeCampaignControl(lifecycle, "missing", "pause")).rejects.toMatchObject({
      name: "NotFoundError",
      field: "campaign_id",
    });
  });

  it("starts no send after a pause that lands while the batch waits for rate tokens", async () => {
    const { campaign, batch } = await campaignOf(Array.from({ length: 8 }, (_, i) => `o${i}`));
    let reads = 0;
    const get = deps.campaigns.get.bind(deps.campaigns);
    deps.campaigns.get = async (id) => {
      reads++;
      return get(id);
    };
    // This second's budget is spent: the batch waits, and the pause lands during its wait, which ends more than the
    // control read's freshness later.
    let pausedAt: number | undefined;
    deps.governor = new RateGovernor(
      new MemoryRateCounter(),
      () => now,
      async (ms) => {
        if (pausedAt === undefined) {
          await deps.campaigns.setControl(campaign.id, { from: ["RUNNING"], to: "PAUSED" }, now);
          pausedAt = now;
          now += 1_000;
        }
        now += ms;
      },
    );
    now = Math.ceil(now / 1000) * 1000 + 850;
    const spent = await deps.governor.acquire(
      `merchant:${MCHID}`,
      { campaignId: "other", ratePerSecond: 500 },
      500,
      400,
      0,
    );
    expect(spent.granted).toBe(392);
    const messages = batch.map((m) => ({ ...m, body: JSON.stringify({ ...JSON.parse(m.body), ratePerSecond: 2 }) }));
    const result = await processSendBatch(deps, messages);
    expect(pausedAt).toBeDefined();
    expect(gateway.calls).toBe(0);
    expect(result.held).toHaveLength(messages.length - result.failures.length - result.recycled.length);
    expect(result.held.length).toBeGreaterThan(0);
    // One read before the rate wait, one more after it aged: not one per send.
    expect(reads).toBe(2);
  });

  it("starts no send after a pause acknowledged while the send's lease write was delayed (throttled, retried)", async () => {
    const { campaign, batch } = await campaignOf(["a", "b"]);
    // The gate read says RUNNING; then the lease write takes far longer than the pause's settle time (SDK retries
    // under throttling), and the pause is written and acknowledged meanwhile.
    let acknowledgedAt: number | undefined;
    const acquireLease = deps.ledger.acquireLease.bind(deps.ledger);
    deps.ledger.acquireLease = async (...args) => {
      if (acknowledgedAt === undefined) {
        await deps.campaigns.setControl(campaign.id, { from: ["RUNNING"], to: "PAUSED" }, now);
        acknowledgedAt = now + lifecycle.settleMs;
        now += 5_000;
      }
      return acquireLease(...args);
    };
    // When each request to WeChat starts (the moment the gateway's last check lets it go).
    const calledAt: number[] = [];
    const send = gateway.sendCoupon.bind(gateway);
    gateway.sendCoupon = async (call, beforeRequest) =>
      send(call, async () => {
        const go = beforeRequest === undefined || (await beforeRequest());
        if (go) calledAt.push(now);
        return go;
      });
    const result = await processSendBatch(deps, batch);
    expect(acknowledgedAt).toBeDefined();
    expect(calledAt.filter((at) => at >= acknowledgedAt!)).toEqual([]);
    expect(gateway.calls).toBe(0);
    expect(result.held.map((h) => h.reason)).toEqual(["paused", "paused"]);
    // The withheld send's lease is dropped and nothing marks it uncertain: a cancel now withdraws it unsent.
    const records = (await deps.ledger.listByCampaign(campaign.id)).items;
    expect(records.map((r) => [r.state, r.leaseUntil, r.uncertain ?? false])).toEqual([
      ["PENDING", 0, false],
      ["PENDING", 0, false],
    ]);
  });
});

describe("a late success", () => {
  it("moves a failure the completed campaign counted to sent when the send's lapsed call succeeds after all", async () => {
    const { campaign, batch } = await campaignOf(["a"]);
    // The first call hangs past its lease; the second (another worker, the lease lapsed) is refused for good.
    let answerFirst: () => void = () => {};
    const firstAnswered = new Promise<void>((resolve) => {
      answerFirst = resolve;
    });
    const send = gateway.sendCoupon.bind(gateway);
    let calls = 0;
    gateway.sendCoupon = async (call, beforeRequest) => {
      calls++;
      if (calls === 1) {
        await firstAnswered;
        return send(call, beforeRequest);
      }
      throw new GatewayError("refused", "USER_ACCOUNT_ABNORMAL", "用户账户异常", 403);
    };
    const first = processSendBatch(deps, batch);
    await expect.poll(() => calls).toBe(1);
    now += 60_000;
    await processSendBatch(deps, again(batch, 2));
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ reconciled: true, sent: 0, failed: 1 });

    answerFirst();
    await first;
    const [record] = (await deps.ledger.listByCampaign(campaign.id)).items;
    expect(record).toMatchObject({ state: "SENT" });
    const done = await deps.campaigns.get(campaign.id);
    expect(done).toMatchObject({ reconciled: true, sent: 1, failed: 0 });
    expect(done!.failuresByCode.USER_ACCOUNT_ABNORMAL ?? 0).toBe(0);
  });
});

describe("cancel", () => {
  it("records the unsent recipients CANCELLED (never sent) and completes with exact counters", async () => {
    const { campaign, batch } = await campaignOf(["a", "b", "c", "d"]);
    // "a" was sent before the cancel; "b" had been claimed (a call may have reached WeChat) and is finished.
    await processSendBatch(deps, [batch[0]!]);
    await deps.ledger.acquireLease(
      { mchid: MCHID, outRequestNo: JSON.parse(batch[1]!.body).outRequestNo },
      now - 60_000,
      1_000,
    );
    const cancelled = await changeCampaignControl(lifecycle, campaign.id, "cancel");
    expect(campaignStatus(cancelled.campaign, now)).toEqual({ state: "CANCELLING", reason: "cancelled" });
    const callsBefore = gateway.calls;

    const result = await processSendBatch(deps, batch.slice(1));
    expect(result.cancelled.map((m) => m.openid)).toEqual(["c", "d"]);
    expect(gateway.calls).toBe(callsBefore + 1); // only b, under its own key
    const states = Object.fromEntries(
      (await deps.ledger.listByCampaign(campaign.id)).items.map((r) => [r.openid, r.state]),
    );
    expect(states).toEqual({ a: "SENT", b: "SENT", c: "CANCELLED", d: "CANCELLED" });
    const done = await deps.campaigns.get(campaign.id);
    expect(done).toMatchObject({ state: "COMPLETED", sent: 2, failed: 0, cancelled: 2, reconciled: true });
    expect(campaignStatus(done!, now)).toEqual({ state: "COMPLETED", reason: "cancelled" });

    // A redelivered message of a cancelled send is acknowledged and counts nothing.
    const redelivered = await processSendBatch(deps, again(batch.slice(2), 3));
    expect(redelivered).toMatchObject({ failures: [], held: [], recycled: [] });
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ sent: 2, cancelled: 2 });
  });

  it("cancels a paused campaign, and seals an open upload as it stands, refusing more chunks", async () => {
    await openCampaign(campaignDeps(), {
      mchid: MCHID,
      stockId: "9856000",
      appid: "wx-app",
      ratePerSecond: 100,
      campaignId: "open",
    });
    await addCampaignChunk(campaignDeps(), { campaignId: "open", chunkNo: 0, openids: ["x", "y"] });
    await changeCampaignControl(lifecycle, "open", "pause");
    const cancelled = await changeCampaignControl(lifecycle, "open", "cancel");
    expect(cancelled.campaign).toMatchObject({ sealed: true, total: 2, control: "CANCELLED" });
    await expect(
      addCampaignChunk(campaignDeps(), { campaignId: "open", chunkNo: 1, openids: ["z"], last: true }),
    ).rejects.toMatchObject({ code: "CAMPAIGN_CANCELLED" });
    await processSendBatch(deps, drain());
    expect(gateway.calls).toBe(0);
    expect(await refreshCampaign(deps, "open")).toMatchObject({ state: "COMPLETED", cancelled: 2, total: 2 });
  });
});

describe("schedule", () => {
  it("holds the messages until start_at, then sends them", async () => {
    const startAt = now + 90_500;
    const { campaign, batch } = await campaignOf(["a", "b"], { startAt });
    expect(campaignStatus(campaign, now)).toEqual({ state: "SCHEDULED", reason: "scheduled" });
    const held = await processSendBatch(deps, batch);
    expect(gateway.calls).toBe(0);
    expect(held.held.map((h) => [h.reason, h.delaySeconds])).toEqual([
      ["scheduled", 91],
      ["scheduled", 91],
    ]);
    // Far ahead: back at least hourly, so that a cancel is carried out within the hour.
    const far = await campaignOf(["z"], { startAt: now + 86_400_000, campaignId: "far" });
    expect((await processSendBatch(deps, far.batch)).held[0]).toMatchObject({ delaySeconds: 3_600 });
    now = startAt;
    expect(campaignStatus((await deps.campaigns.get(campaign.id))!, now).state).toBe("SENDING");
    await processSendBatch(deps, again(batch, 2));
    expect(gateway.issued.size).toBe(2);
  });

  it("refuses a start_at in the past or more than 30 days ahead, but replays a stored campaign after its start", async () => {
    await expect(campaignOf(["a"], { startAt: now - 1 })).rejects.toMatchObject({
      code: "START_AT_IN_PAST",
      field: "start_at",
    });
    await expect(campaignOf(["a"], { startAt: now + MAX_SCHEDULE_AHEAD_MS + 1 })).rejects.toMatchObject({
      code: "START_AT_TOO_FAR",
      field: "start_at",
    });
    const startAt = now + 1_000;
    const first = await campaignOf(["a"], { startAt, campaignId: "sched" });
    now += 5_000;
    const replay = await createCampaign(campaignDeps(), {
      mchid: MCHID,
      stockId: "9856000",
      appid: "wx-app",
      openids: ["a"],
      ratePerSecond: 100,
      startAt,
      campaignId: "sched",
    });
    expect(replay).toMatchObject({ replayed: true, campaign: { id: first.campaign.id, startAt } });
  });
});

describe("listCampaigns", () => {
  it("filters by state at the time of the request and by stock, newest first", async () => {
    const make = async (id: string, stockId: string, startAt?: number) => {
      now += 1;
      await createCampaign(campaignDeps(), {
        mchid: MCHID,
        stockId,
        appid: "wx-app",
        openids: [id],
        ratePerSecond: 100,
        campaignId: id,
        ...(startAt ? { startAt } : {}),
      });
    };
    await make("one", "111");
    await make("two", "222", now + 60_000);
    await make("three", "111");
    await changeCampaignControl(lifecycle, "three", "pause");
    const ids = async (query: Partial<Parameters<typeof listCampaigns>[1]>) =>
      (await listCampaigns(deps, { mchid: MCHID, limit: 10, ...query })).items.map((c) => c.id);
    expect(await ids({})).toEqual(["three", "two", "one"]);
    expect(await ids({ state: "PAUSED" })).toEqual(["three"]);
    expect(await ids({ state: "SCHEDULED" })).toEqual(["two"]);
    expect(await ids({ state: "SENDING" })).toEqual(["one"]);
    expect(await ids({ stockId: "111" })).toEqual(["three", "one"]);
    expect(await ids({ stockId: "111", state: "SENDING" })).toEqual(["one"]);
    now += 120_000;
    expect(await ids({ state: "SCHEDULED" })).toEqual([]);
  });
});
