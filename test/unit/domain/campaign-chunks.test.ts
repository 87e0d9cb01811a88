import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { addCampaignChunk } from "#shared/domain/campaigns/add-campaign-chunk.js";
import { recipientOutRequestNo } from "#shared/domain/campaigns/campaign-keys.js";
import { type CampaignDependencies, openCampaign } from "#shared/domain/campaigns/create-campaign.js";
import { processSendBatch, type WorkerDependencies } from "#shared/domain/campaigns/process-send-batch.js";
import { refreshCampaign } from "#shared/domain/campaigns/reconcile-campaign.js";
import { ConflictError, NotFoundError } from "#shared/domain/errors.js";
import { crashingOnce } from "../../helpers/crashing-once.js";
import { FakeCouponGateway } from "../../helpers/fake-coupon-gateway.js";
import { memoryWorkerDependencies } from "../../helpers/memory-send-dependencies.js";

let now = 1_800_000_000_000;
let store: MemoryCampaignStore;
let queue: MemorySendQueue;
let ledger: MemorySendLedger;
let deps: CampaignDependencies;
const CAMPAIGN = "cli-test";

beforeEach(async () => {
  now = 1_800_000_000_000;
  store = new MemoryCampaignStore();
  queue = new MemorySendQueue();
  ledger = new MemorySendLedger();
  deps = { campaigns: store, ledger, queue, clock: () => now, gateway: new FakeCouponGateway() };
  await openCampaign(deps, {
    mchid: "1900000001",
    stockId: "9856000",
    appid: "wx-app",
    ratePerSecond: 100,
    campaignId: CAMPAIGN,
  });
});

const keys = () => queue.messages.map((m) => m.outRequestNo);

describe("recipientOutRequestNo", () => {
  it("is a fixed function of (campaign, chunk, openid): the same key on every machine and release", () => {
    // sha256("0\no-1") base64url, first 22 characters.
    expect(recipientOutRequestNo("c1", "o-1", 0)).toBe("c1_lPTQxqChda3t89M0cJYu6F");
    expect(recipientOutRequestNo("c1", "o-1", 1)).not.toBe("c1_lPTQxqChda3t89M0cJYu6F");
  });

  it("gives every (campaign, chunk, openid) its own WeChat-valid key", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        fc.uniqueArray(fc.tuple(fc.nat(10_000), fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/)), {
          selector: ([n, o]) => `${n}:${o}`,
          maxLength: 30,
        }),
        (campaign, pairs) => {
          const all = pairs.map(([n, o]) => recipientOutRequestNo(campaign, o, n));
          expect(new Set(all).size).toBe(pairs.length);
          for (const key of all) expect(key).toMatch(/^[A-Za-z0-9|_*-]{1,128}$/);
          // Pure: the same inputs always give the same key (a resumed upload reuses it).
          expect(pairs.map(([n, o]) => recipientOutRequestNo(campaign, o, n))).toEqual(all);
        },
      ),
    );
  });
});

describe("addCampaignChunk", () => {
  it("queues one message per distinct openid keyed by (campaign, chunk, openid), and adds the chunk to the total", async () => {
    const result = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 3, openids: ["a", "b", "a"] });
    expect(result).toMatchObject({ chunkNo: 3, accepted: 2, duplicatesRemoved: 1, replayed: false });
    expect(result.campaign).toMatchObject({ total: 2, enqueued: 2, chunksReceived: 1, sealed: false });
    expect(keys()).toEqual([recipientOutRequestNo(CAMPAIGN, "a", 3), recipientOutRequestNo(CAMPAIGN, "b", 3)]);
    expect(queue.messages[0]).toMatchObject({ campaignId: CAMPAIGN, stockId: "9856000", ratePerSecond: 100 });
  });

  it("replays the same chunk without counting or queueing it again", async () => {
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "b"] });
    queue.drain();
    const again = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "b"] });
    expect(again).toMatchObject({ replayed: true, accepted: 2, campaign: { total: 2 } });
    expect(queue.messages).toEqual([]);
  });

  it("sends the same openid twice when two chunks hold it (two CSV lines), under two keys", async () => {
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a"] });
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 1, openids: ["a"] });
    expect(new Set(keys()).size).toBe(2);
    expect((await store.get(CAMPAIGN))?.total).toBe(2);
  });

  it("refuses the same chunk number with other openids (CHUNK_CONFLICT on chunk_no)", async () => {
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "b"] });
    const error = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "c"] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: "CHUNK_CONFLICT", field: "chunk_no" });
    expect((await store.get(CAMPAIGN))?.total).toBe(2);
  });

  it("re-queues a chunk whose first post died between queueing and marking it (harmless: same keys)", async () => {
    const crashing = { ...deps, campaigns: crashingOnce(store, "markChunkEnqueued") };
    await expect(addCampaignChunk(crashing, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a"] })).rejects.toThrow(
      "process killed",
    );
    const again = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a"] });
    expect(again).toMatchObject({ replayed: true, campaign: { total: 1, enqueued: 1 } });
    expect(keys()).toEqual([recipientOutRequestNo(CAMPAIGN, "a", 0), recipientOutRequestNo(CAMPAIGN, "a", 0)]);
  });

  it("counts a chunk whose first post died before counting it, when it is posted again", async () => {
    const crashing = { ...deps, campaigns: crashingOnce(store, "countChunk") };
    await expect(
      addCampaignChunk(crashing, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "b"] }),
    ).rejects.toThrow();
    expect((await store.get(CAMPAIGN))?.total).toBe(0);
    const again = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "b"] });
    expect(again.campaign).toMatchObject({ total: 2, enqueued: 2 });
  });

  it("seals when the last chunk and every chunk before it arrived, in any order", async () => {
    const last = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 2, openids: ["c"], last: true });
    expect(last.campaign).toMatchObject({ sealed: false, lastChunkNo: 2 });
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a"] });
    const done = await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 1, openids: ["b", "b2"] });
    expect(done.campaign).toMatchObject({ sealed: true, total: 4, chunksReceived: 3 });
  });

  it("refuses a chunk after the last one, another last chunk, and chunks for a one-shot campaign", async () => {
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a"], last: true });
    await expect(addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 1, openids: ["b"] })).rejects.toMatchObject({
      code: "CHUNK_AFTER_LAST",
      field: "chunk_no",
    });
    await store.create({
      id: "open-2",
      requestHash: "h",
      mchid: "1",
      stockId: "2",
      appid: "a",
      total: 0,
      ratePerSecond: 1,
      chunked: true,
      createdAt: now,
    });
    await addCampaignChunk(deps, { campaignId: "open-2", chunkNo: 5, openids: ["a"], last: true });
    await expect(
      addCampaignChunk(deps, { campaignId: "open-2", chunkNo: 3, openids: ["b"], last: true }),
    ).rejects.toMatchObject({ code: "LAST_CHUNK_CONFLICT", field: "last" });
    await store.create({
      id: "one-shot",
      requestHash: "h",
      mchid: "1",
      stockId: "2",
      appid: "a",
      total: 1,
      ratePerSecond: 1,
      createdAt: now,
    });
    await expect(addCampaignChunk(deps, { campaignId: "one-shot", chunkNo: 0, openids: ["b"] })).rejects.toMatchObject({
      code: "CAMPAIGN_NOT_CHUNKED",
      field: "campaign_id",
    });
    await expect(addCampaignChunk(deps, { campaignId: "nope", chunkNo: 0, openids: ["b"] })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("an open campaign's completion", () => {
  it("stays SENDING while every send so far is done, and COMPLETES once sealed and reconciled", async () => {
    const worker: WorkerDependencies = {
      ...memoryWorkerDependencies(
        new FakeCouponGateway(),
        () => now,
        (ms) => {
          now += ms;
        },
      ),
      ledger,
      campaigns: store,
    };
    const sendAll = () =>
      processSendBatch(
        worker,
        queue.drain().map((m, i) => ({ messageId: `m${i}`, body: JSON.stringify(m), receiveCount: 1 })),
      );
    const reconcileDeps = { campaigns: store, ledger, clock: () => now };

    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 0, openids: ["a", "b"] });
    await sendAll();
    expect(await refreshCampaign(reconcileDeps, CAMPAIGN)).toMatchObject({
      sent: 2,
      total: 2,
      sealed: false,
      reconciled: false,
      state: "SENDING",
    });
    await addCampaignChunk(deps, { campaignId: CAMPAIGN, chunkNo: 1, openids: ["c"], last: true });
    expect((await store.get(CAMPAIGN))?.state).toBe("SENDING");
    await sendAll();
    expect(await refreshCampaign(reconcileDeps, CAMPAIGN)).toMatchObject({
      sent: 3,
      total: 3,
      sealed: true,
      state: "COMPLETED",
    });
  });
});
