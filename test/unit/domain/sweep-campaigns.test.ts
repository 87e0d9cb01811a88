import { beforeEach, describe, expect, it } from "vitest";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { addCampaignChunk } from "#shared/domain/campaigns/add-campaign-chunk.js";
import { changeCampaignControl, type LifecycleDependencies } from "#shared/domain/campaigns/campaign-lifecycle.js";
import { createCampaign, openCampaign } from "#shared/domain/campaigns/create-campaign.js";
import { processSendBatch, type WorkerDependencies } from "#shared/domain/campaigns/process-send-batch.js";
import { INLINE_RECOUNT_MAX } from "#shared/domain/campaigns/reconcile-campaign.js";
import {
  type SweeperDependencies,
  type SweepSettings,
  sweepCampaigns,
} from "#shared/domain/campaigns/sweep-campaigns.js";
import { FakeCouponGateway } from "../../helpers/fake-coupon-gateway.js";
import { memoryWorkerDependencies } from "../../helpers/memory-send-dependencies.js";

let now = 1_800_000_000_000;
let gateway: FakeCouponGateway;
let deps: WorkerDependencies;
let queue: MemorySendQueue;
let sweeper: SweeperDependencies;
const MCHID = "1900000001";
const STALL_MS = 600_000;
const SETTINGS: SweepSettings = {
  stallMs: STALL_MS,
  recordsPerRun: 100_000,
  timeBudgetMs: 60_000,
  pageSize: 1_000,
  campaignsPerRun: 100,
};

beforeEach(() => {
  now = 1_800_000_000_000;
  gateway = new FakeCouponGateway();
  queue = new MemorySendQueue();
  deps = memoryWorkerDependencies(
    gateway,
    () => now,
    (ms) => {
      now += ms;
    },
  );
  sweeper = { campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now };
});

const openids = (n: number, prefix = "o") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function campaignOf(recipients: string[]) {
  const { campaign } = await createCampaign(
    { campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway },
    { mchid: MCHID, stockId: "9856000", appid: "wx-app", openids: recipients, ratePerSecond: 400 },
  );
  return campaign;
}

/** Runs the worker over the queue, 10 messages a batch, until it is empty (a second apart: the rate allows it). */
async function sendQueued(limit = Number.POSITIVE_INFINITY): Promise<number> {
  let processed = 0;
  while (queue.messages.length > 0 && processed < limit) {
    const messages = queue.messages.splice(0, Math.min(10, limit - processed));
    const result = await processSendBatch(
      deps,
      messages.map((m, i) => ({ messageId: `m${processed + i}`, body: JSON.stringify(m), receiveCount: 1 })),
    );
    expect(result.failures).toEqual([]);
    processed += messages.length;
    now += 1_000;
  }
  return processed;
}

/** Sweeps until the campaign completes (or `maxRuns`), a minute apart, as the schedule does. */
async function sweepUntilCompleted(id: string, settings = SETTINGS, maxRuns = 50) {
  const reports = [];
  for (let run = 0; run < maxRuns; run++) {
    const report = await sweepCampaigns(sweeper, settings);
    reports.push(report);
    if ((await deps.campaigns.get(id))?.reconciled) return reports;
    now += 60_000;
  }
  throw new Error(`campaign ${id} did not complete in ${maxRuns} runs`);
}

describe("sweepCampaigns", () => {
  it("writes every recipient PENDING and never leased before its message is queued", async () => {
    const campaign = await campaignOf(["a", "b", "a"]);
    const records = (await deps.ledger.listByCampaign(campaign.id)).items;
    expect(records.map((r) => [r.openid, r.state, r.attempts]).sort()).toEqual([
      ["a", "PENDING", 0],
      ["b", "PENDING", 0],
    ]);
    expect(queue.messages.map((m) => m.outRequestNo).sort()).toEqual(records.map((r) => r.outRequestNo).sort());
  });

  it("queues the sends of a campaign whose messages were lost again once it stalled, and completes it exactly", async () => {
    const total = INLINE_RECOUNT_MAX + 1_500; // recounted by the sweeper only
    const campaign = await campaignOf(openids(total));
    await sendQueued(1_000);
    const lost = queue.messages.splice(0).length; // a purge
    expect(lost).toBe(total - 1_000);

    // Still moving recently: nothing queued again yet.
    now += STALL_MS - 60_000;
    expect((await sweepCampaigns(sweeper, SETTINGS)).requeued).toBe(0);
    now += 60_000;
    const reports = await sweepUntilCompleted(campaign.id, SETTINGS, 1).catch(() => undefined);
    expect(reports).toBeUndefined(); // the first stalled run only queues them again
    expect(queue.messages).toHaveLength(lost);
    await sendQueued();
    await sweepUntilCompleted(campaign.id);

    const done = await deps.campaigns.get(campaign.id);
    expect(done).toMatchObject({ state: "COMPLETED", sent: total, failed: 0, cancelled: 0, reconciled: true });
    expect(gateway.calls).toBe(total); // every recipient sent once
    expect((await deps.campaigns.listActive({ limit: 10 })).items).toEqual([]);
  });

  it("corrects over-counted counters with a pass spread over runs of bounded reads", async () => {
    const total = 2_400;
    const campaign = await campaignOf(openids(total));
    await sendQueued();
    // A crash between counting and the final write counted three sends twice.
    await deps.campaigns.recordOutcomes(campaign.id, { sent: 3, failed: 0, failuresByCode: {} }, now);
    expect((await deps.campaigns.get(campaign.id))?.sent).toBe(total + 3);

    const settings = { ...SETTINGS, recordsPerRun: 1_000, pageSize: 500 };
    const reports = await sweepUntilCompleted(campaign.id, settings);
    expect(reports.length).toBeGreaterThanOrEqual(3);
    for (const report of reports) expect(report.recordsRead).toBeLessThanOrEqual(settings.recordsPerRun);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ state: "COMPLETED", sent: total, failed: 0 });
    expect(reports.reduce((n, r) => n + r.requeued, 0)).toBe(0);
  });

  it("queues nothing again for a paused campaign, however long the pause", async () => {
    const campaign = await campaignOf(openids(5));
    const lifecycle: LifecycleDependencies = {
      campaigns: deps.campaigns,
      ledger: deps.ledger,
      clock: () => now,
      gateway,
      settleMs: 0,
      sleep: async () => {},
    };
    await changeCampaignControl(lifecycle, campaign.id, "pause");
    queue.messages.splice(0);
    now += 10 * STALL_MS;
    expect((await sweepCampaigns(sweeper, SETTINGS)).requeued).toBe(0);

    // Resumed: the stall clock starts at the resume.
    await changeCampaignControl(lifecycle, campaign.id, "resume");
    now += STALL_MS - 1;
    expect((await sweepCampaigns(sweeper, SETTINGS)).requeued).toBe(0);
    now += 1;
    expect((await sweepCampaigns(sweeper, SETTINGS)).requeued).toBe(5);
  });

  it("records a cancelled campaign's never-leased sends CANCELLED and finishes its leased one, without its messages", async () => {
    const campaign = await campaignOf(openids(5));
    const [leased] = queue.messages;
    // One send was taken by a worker that then died (its lease expires); the queue is lost.
    await deps.ledger.acquireLease({ mchid: MCHID, outRequestNo: leased!.outRequestNo }, now, 1_000);
    queue.messages.splice(0);
    const lifecycle: LifecycleDependencies = {
      campaigns: deps.campaigns,
      ledger: deps.ledger,
      clock: () => now,
      gateway,
      settleMs: 0,
      sleep: async () => {},
    };
    await changeCampaignControl(lifecycle, campaign.id, "cancel");

    now += 60_000;
    expect(await sweepCampaigns(sweeper, SETTINGS)).toMatchObject({ cancelled: 4, requeued: 0, completed: [] });
    now += STALL_MS;
    expect(await sweepCampaigns(sweeper, SETTINGS)).toMatchObject({ cancelled: 0, requeued: 1 });
    await sendQueued();
    await sweepUntilCompleted(campaign.id);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ state: "COMPLETED", sent: 1, cancelled: 4 });
    expect(gateway.calls).toBe(1);
  });

  it("completes a cancelled upload whose last chunk post failed after counting it: its recipients were never sent", async () => {
    const upload = { campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway };
    const { campaign } = await openCampaign(upload, {
      mchid: MCHID,
      stockId: "9856000",
      appid: "wx-app",
      campaignId: "cmp-broken-upload",
      ratePerSecond: 400,
    });
    await addCampaignChunk(upload, { campaignId: campaign.id, chunkNo: 0, openids: ["a", "b"] });
    // Chunk 1 is stored and counted, then the store fails before its recipients' records are written.
    const failing = Object.create(deps.ledger, { prepare: { value: async () => Promise.reject(new Error("down")) } });
    await expect(
      addCampaignChunk({ ...upload, ledger: failing }, { campaignId: campaign.id, chunkNo: 1, openids: ["c", "d"] }),
    ).rejects.toThrow("down");
    // The operator cancels instead of posting it again (a cancelled upload takes no more chunks).
    const lifecycle: LifecycleDependencies = { ...upload, settleMs: 0, sleep: async () => {} };
    await changeCampaignControl(lifecycle, campaign.id, "cancel");
    await expect(
      addCampaignChunk(upload, { campaignId: campaign.id, chunkNo: 1, openids: ["c", "d"] }),
    ).rejects.toMatchObject({ code: "CAMPAIGN_CANCELLED" });

    // Not at once: a chunk post still writing its records when the cancel came has until the stall period.
    expect((await sweepCampaigns(sweeper, SETTINGS)).completed).toEqual([]);
    await sweepUntilCompleted(campaign.id);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      state: "COMPLETED",
      total: 4,
      sent: 0,
      cancelled: 4,
    });
    expect(now - (await deps.campaigns.get(campaign.id))!.controlChangedAt!).toBeGreaterThanOrEqual(STALL_MS);
    expect(gateway.calls).toBe(0);
  });

  it("takes turns between campaigns, so a big one does not hold a small one back", async () => {
    const big = await campaignOf(openids(3_000, "big"));
    const small = await campaignOf(openids(INLINE_RECOUNT_MAX + 1, "small")); // 3 pages
    await sendQueued();
    const report = await sweepCampaigns(sweeper, { ...SETTINGS, recordsPerRun: 3_000, pageSize: 500 });
    expect(report.completed).toEqual([small.id]);
    expect((await deps.campaigns.get(big.id))?.reconciled).toBe(false);
    await sweepUntilCompleted(big.id);
  });
});
