import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { outcomeTally } from "#shared/domain/campaigns/outcome-tally.js";
import { ConflictError, NotFoundError } from "#shared/domain/errors.js";
import type { CampaignRecord, CampaignStore, NewCampaign } from "#shared/domain/ports.js";

const T0 = 1_800_000_000_000;

const newCampaign = (overrides: Partial<NewCampaign> = {}): NewCampaign => ({
  id: `camp-${randomUUID()}`,
  requestHash: "hash-a",
  mchid: "1900000109",
  stockId: "9856000",
  appid: "wx233544546545989",
  total: 100,
  ratePerSecond: 50,
  createdAt: T0,
  ...overrides,
});

export function campaignStoreContract(backend: string, makeStore: () => CampaignStore) {
  describe(`CampaignStore contract (${backend})`, () => {
    it("creates an ACCEPTED campaign with zero counters", async () => {
      const store = makeStore();
      const input = newCampaign();
      const { created, record } = await store.create(input);
      expect(created).toBe(true);
      expect(record).toEqual({
        ...input,
        state: "ACCEPTED",
        chunked: false,
        sealed: true,
        lastChunkNo: 0,
        chunksReceived: 1,
        enqueued: 0,
        sent: 0,
        failed: 0,
        cancelled: 0,
        failuresByCode: {},
        version: 0,
        reconciled: false,
        control: "RUNNING",
        updatedAt: T0,
      });
      expect(await store.get(input.id)).toEqual(record);
      expect(await store.get("no-such-campaign")).toBeUndefined();
    });

    it("replays the same request and refuses the same id for a different request", async () => {
      const store = makeStore();
      const input = newCampaign();
      const first = await store.create(input);
      await store.markEnqueued(input.id, 3, T0 + 1);
      const replay = await store.create({ ...input, createdAt: T0 + 99 });
      expect(replay.created).toBe(false);
      expect(replay.record).toMatchObject({ id: input.id, createdAt: first.record.createdAt, enqueued: 3 });
      const conflict = await store.create({ ...input, requestHash: "hash-b" }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(ConflictError);
      expect(conflict).toMatchObject({ code: "CAMPAIGN_ID_REUSED", field: "campaign_id" });
    });

    it("adds up 100 concurrent outcomes exactly, per failure code too", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 100 });
      await store.create(input);
      await store.markEnqueued(input.id, 100, T0);
      const codes = ["NOT_ENOUGH", "RULE_LIMIT", "USER_ACCOUNT_ABNORMAL", "SYSTEM.ERROR#1"];
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i < 60
            ? store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + i)
            : store.recordOutcomes(input.id, outcomeTally("FAILED", codes[i % 4]), T0 + i),
        ),
      );
      const record = await store.get(input.id);
      expect(record).toMatchObject({ sent: 60, failed: 40, version: 100, state: "SENDING" });
      expect(record?.failuresByCode).toEqual({
        NOT_ENOUGH: 10,
        RULE_LIMIT: 10,
        USER_ACCOUNT_ABNORMAL: 10,
        "SYSTEM.ERROR#1": 10,
      });
    });

    it("adds a batch's tally (several codes) in one update", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 10 });
      await store.create(input);
      await store.recordOutcomes(input.id, outcomeTally("FAILED", "NOT_ENOUGH"), T0 + 1);
      const tally = { sent: 6, failed: 3, failuresByCode: { NOT_ENOUGH: 2, "SYSTEM.ERROR#1": 1 } };
      const after = await store.recordOutcomes(input.id, tally, T0 + 2);
      expect(after).toMatchObject({ sent: 6, failed: 4, version: 2, updatedAt: T0 + 2 });
      expect(after.failuresByCode).toEqual({ NOT_ENOUGH: 3, "SYSTEM.ERROR#1": 1 });
    });

    it("derives ACCEPTED → SENDING from the counters, and COMPLETED only once reconciled", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 2 });
      expect((await store.create(input)).record.state).toBe("ACCEPTED");
      expect((await store.markEnqueued(input.id, 2, T0 + 1)).state).toBe("SENDING");
      const one = await store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + 2);
      expect(one).toMatchObject({ state: "SENDING", sent: 1, version: 1, updatedAt: T0 + 2 });
      const two = await store.recordOutcomes(input.id, outcomeTally("FAILED"), T0 + 3);
      expect(two).toMatchObject({ state: "SENDING", failed: 1, version: 2, failuresByCode: { UNKNOWN: 1 } });
      const counts = { sent: 1, failed: 1, failuresByCode: { NOT_ENOUGH: 1 } };
      expect(await store.reconcile(input.id, counts, 2, T0 + 4)).toBe(true);
      expect(await store.get(input.id)).toMatchObject({
        ...counts,
        state: "COMPLETED",
        reconciled: true,
        updatedAt: T0 + 4,
      });
    });

    it("refuses a reconciliation when an outcome was counted after the recount began", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 3 });
      await store.create(input);
      await store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + 1);
      await store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + 2); // version 2 now
      expect(await store.reconcile(input.id, { sent: 1, failed: 0, failuresByCode: {} }, 1, T0 + 3)).toBe(false);
      expect(await store.get(input.id)).toMatchObject({ sent: 2, reconciled: false, state: "SENDING" });
    });

    it("leaves a reconciled campaign's counters alone: a late count is already in the recount", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 1 });
      await store.create(input);
      await store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + 1);
      expect(await store.reconcile(input.id, { sent: 1, failed: 0, failuresByCode: {} }, 1, T0 + 2)).toBe(true);
      const late = await store.recordOutcomes(input.id, outcomeTally("FAILED", "NOT_ENOUGH"), T0 + 3);
      expect(late).toMatchObject({ sent: 1, failed: 0, failuresByCode: {}, state: "COMPLETED", version: 1 });
      expect(await store.get(input.id)).toMatchObject({ sent: 1, failed: 0, updatedAt: T0 + 2 });
    });

    it("moves a counted failure to sent for a late success, only once reconciled and only while one is counted", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 2 });
      await store.create(input);
      await store.recordOutcomes(input.id, outcomeTally("FAILED", "NOT_ENOUGH"), T0 + 1);
      // Not reconciled yet: the recount will count the success itself.
      expect(await store.recordLateSuccess(input.id, "NOT_ENOUGH", T0 + 2)).toMatchObject({ sent: 0, failed: 1 });
      const counts = { sent: 0, failed: 2, failuresByCode: { NOT_ENOUGH: 1, USER_ACCOUNT_ABNORMAL: 1 } };
      expect(await store.reconcile(input.id, counts, 1, T0 + 3)).toBe(true);
      const late = await store.recordLateSuccess(input.id, "NOT_ENOUGH", T0 + 4);
      expect(late).toMatchObject({ sent: 1, failed: 1, state: "COMPLETED", updatedAt: T0 + 4 });
      expect(late.failuresByCode).toMatchObject({ NOT_ENOUGH: 0, USER_ACCOUNT_ABNORMAL: 1 });
      // No NOT_ENOUGH failure is left to move; a code never counted neither.
      expect(await store.recordLateSuccess(input.id, "NOT_ENOUGH", T0 + 5)).toMatchObject({ sent: 1, failed: 1 });
      expect(await store.recordLateSuccess(input.id, "SYSTEM_ERROR", T0 + 6)).toMatchObject({ sent: 1, failed: 1 });
      expect(await store.get(input.id)).toMatchObject({ sent: 1, failed: 1, updatedAt: T0 + 4 });
    });

    it("throws NotFoundError for counters of an unknown campaign (and creates nothing)", async () => {
      const store = makeStore();
      await expect(store.recordOutcomes("missing", outcomeTally("SENT"), T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.markEnqueued("missing", 1, T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.setLastChunk("missing", 1, T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.trySeal("missing", T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.countChunk("missing", 0, T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.markChunkEnqueued("missing", 0, T0)).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.get("missing")).toBeUndefined();
    });

    describe("chunked campaigns", () => {
      const open = async (store: CampaignStore) => {
        const input = newCampaign({ total: 0, chunked: true });
        const { record } = await store.create(input);
        return { input, record };
      };
      const chunk = (campaignId: string, chunkNo: number, count: number, requestHash = `h${chunkNo}`) => ({
        campaignId,
        chunkNo,
        requestHash,
        count,
        createdAt: T0 + chunkNo,
      });

      it("opens a campaign of total 0 that is not sealed", async () => {
        const store = makeStore();
        const { input, record } = await open(store);
        expect(record).toEqual({
          ...input,
          state: "ACCEPTED",
          chunked: true,
          sealed: false,
          chunksReceived: 0,
          enqueued: 0,
          sent: 0,
          failed: 0,
          cancelled: 0,
          failuresByCode: {},
          version: 0,
          reconciled: false,
          control: "RUNNING",
          updatedAt: T0,
        });
        expect(record.lastChunkNo).toBeUndefined();
        expect(await store.get(input.id)).toEqual(record);
      });

      it("stores a chunk once: the same number again returns the stored chunk for the caller to compare", async () => {
        const store = makeStore();
        const { input } = await open(store);
        const first = await store.putChunk(chunk(input.id, 0, 3, "hash-x"));
        expect(first).toEqual({
          created: true,
          record: { ...chunk(input.id, 0, 3, "hash-x"), counted: false, enqueued: false, updatedAt: T0 },
        });
        const again = await store.putChunk({ ...chunk(input.id, 0, 5, "hash-y"), createdAt: T0 + 50 });
        expect(again).toEqual({ created: false, record: first.record });
        expect(await store.getChunk(input.id, 0)).toEqual(first.record);
        expect(await store.getChunk(input.id, 1)).toBeUndefined();
      });

      it("adds a chunk's count to the total once, and its messages to enqueued once", async () => {
        const store = makeStore();
        const { input } = await open(store);
        await store.putChunk(chunk(input.id, 0, 250));
        const counted = await store.countChunk(input.id, 0, T0 + 1);
        expect(counted).toMatchObject({ changed: true, record: { counted: true, enqueued: false, updatedAt: T0 + 1 } });
        expect(await store.countChunk(input.id, 0, T0 + 2)).toMatchObject({ changed: false });
        expect(await store.get(input.id)).toMatchObject({ total: 250, chunksReceived: 1, state: "ACCEPTED" });
        expect(await store.markChunkEnqueued(input.id, 0, T0 + 3)).toMatchObject({
          changed: true,
          record: { counted: true, enqueued: true },
        });
        expect(await store.markChunkEnqueued(input.id, 0, T0 + 4)).toMatchObject({ changed: false });
        expect(await store.get(input.id)).toMatchObject({ total: 250, enqueued: 250, state: "SENDING" });
        await expect(store.countChunk(input.id, 9, T0)).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.markChunkEnqueued(input.id, 9, T0)).rejects.toBeInstanceOf(NotFoundError);
      });

      it("adds a chunk posted 20 times concurrently to the total exactly once", async () => {
        const store = makeStore();
        const { input } = await open(store);
        const results = await Promise.all(
          Array.from({ length: 20 }, async () => {
            const put = await store.putChunk(chunk(input.id, 4, 1_000));
            const count = await store.countChunk(input.id, 4, T0 + 1);
            return { created: put.created, counted: count.changed };
          }),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(results.filter((r) => r.counted)).toHaveLength(1);
        expect(await store.get(input.id)).toMatchObject({ total: 1_000, chunksReceived: 1 });
      });

      it("names the last chunk once: the same number again is fine, another is LAST_CHUNK_CONFLICT", async () => {
        const store = makeStore();
        const { input } = await open(store);
        expect(await store.setLastChunk(input.id, 2, T0 + 1)).toMatchObject({ lastChunkNo: 2, sealed: false });
        expect(await store.setLastChunk(input.id, 2, T0 + 2)).toMatchObject({ lastChunkNo: 2 });
        const conflict = await store.setLastChunk(input.id, 3, T0 + 3).catch((e: unknown) => e);
        expect(conflict).toBeInstanceOf(ConflictError);
        expect(conflict).toMatchObject({ code: "LAST_CHUNK_CONFLICT", field: "last" });
      });

      it("seals only once chunks 0..last all exist, with the exact total even when a count was lost", async () => {
        const store = makeStore();
        const { input } = await open(store);
        expect(await store.trySeal(input.id, T0)).toMatchObject({ missing: 0, record: { sealed: false } });
        for (const n of [0, 2]) {
          await store.putChunk(chunk(input.id, n, 10 + n));
          await store.countChunk(input.id, n, T0 + 1);
        }
        await store.setLastChunk(input.id, 2, T0 + 2);
        expect(await store.trySeal(input.id, T0 + 3)).toMatchObject({ missing: 1, record: { sealed: false } });
        // Chunk 1 stored but never counted: a crash between the put and the count.
        await store.putChunk(chunk(input.id, 1, 11));
        expect((await store.get(input.id))?.total).toBe(22);
        const sealed = await store.trySeal(input.id, T0 + 4);
        expect(sealed).toMatchObject({
          missing: 0,
          record: { sealed: true, total: 33, chunksReceived: 3, lastChunkNo: 2, updatedAt: T0 + 4 },
        });
        // Counting the chunk after the seal changes nothing: the seal counted it.
        expect(await store.countChunk(input.id, 1, T0 + 5)).toMatchObject({ changed: true });
        expect(await store.get(input.id)).toMatchObject({ total: 33, chunksReceived: 3, sealed: true });
        expect(await store.trySeal(input.id, T0 + 6)).toMatchObject({ missing: 0, record: { total: 33 } });
      });

      it("seals a campaign of many chunks with the sum of their counts", async () => {
        const store = makeStore();
        const { input } = await open(store);
        const chunks = Array.from({ length: 70 }, (_, n) => chunk(input.id, n, (n % 7) + 1));
        await Promise.all(chunks.map((c) => store.putChunk(c)));
        await store.setLastChunk(input.id, 69, T0 + 1);
        const sealed = await store.trySeal(input.id, T0 + 2);
        const total = chunks.reduce((sum, c) => sum + c.count, 0);
        expect(sealed).toMatchObject({ missing: 0, record: { sealed: true, total, chunksReceived: 70 } });
      });

      it("is never reconciled nor COMPLETED before it is sealed", async () => {
        const store = makeStore();
        const { input } = await open(store);
        await store.putChunk(chunk(input.id, 0, 1));
        await store.countChunk(input.id, 0, T0 + 1);
        await store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + 2);
        const counts = { sent: 1, failed: 0, failuresByCode: {} };
        expect(await store.reconcile(input.id, counts, 1, T0 + 3)).toBe(false);
        expect(await store.get(input.id)).toMatchObject({ reconciled: false, state: "SENDING" });
        await store.setLastChunk(input.id, 0, T0 + 4);
        expect((await store.trySeal(input.id, T0 + 5)).record.sealed).toBe(true);
        expect(await store.reconcile(input.id, counts, 1, T0 + 6)).toBe(true);
        expect(await store.get(input.id)).toMatchObject({ reconciled: true, sealed: true, state: "COMPLETED" });
      });
    });

    describe("lifecycle", () => {
      it("changes the control only from the allowed states, touching no counter, and never once COMPLETED", async () => {
        const store = makeStore();
        const input = newCampaign({ total: 2 });
        await store.create(input);
        await store.recordOutcomes(input.id, outcomeTally("SENT"), T0 + 1);
        const paused = await store.setControl(input.id, { from: ["RUNNING"], to: "PAUSED" }, T0 + 2);
        expect(paused).toMatchObject({
          changed: true,
          record: { control: "PAUSED", state: "PAUSED", controlChangedAt: T0 + 2, sent: 1, version: 1 },
        });
        // A second pause: refused as data, with the stored record.
        const again = await store.setControl(input.id, { from: ["RUNNING"], to: "PAUSED" }, T0 + 3);
        expect(again).toMatchObject({ changed: false, record: { control: "PAUSED", controlChangedAt: T0 + 2 } });
        // Counting goes on under any control (a send that had started finishes).
        await store.recordOutcomes(input.id, outcomeTally("CANCELLED"), T0 + 4);
        const cancelled = await store.setControl(input.id, { from: ["RUNNING", "PAUSED"], to: "CANCELLED" }, T0 + 5);
        expect(cancelled).toMatchObject({
          changed: true,
          record: { control: "CANCELLED", state: "CANCELLING", sent: 1, cancelled: 1, version: 2 },
        });
        await store.reconcile(input.id, { sent: 1, failed: 0, cancelled: 1, failuresByCode: {} }, 2, T0 + 6);
        expect(await store.get(input.id)).toMatchObject({ state: "COMPLETED", cancelled: 1, reconciled: true });
        const late = await store.setControl(input.id, { from: ["CANCELLED"], to: "RUNNING" }, T0 + 7);
        expect(late).toMatchObject({ changed: false, record: { control: "CANCELLED", reconciled: true } });
        await expect(
          store.setControl("no-such-campaign", { from: ["RUNNING"], to: "PAUSED" }, T0),
        ).rejects.toBeInstanceOf(NotFoundError);
      });

      it("stores the reason of a pause with the control, and any later change clears it", async () => {
        const store = makeStore();
        const input = newCampaign({ total: 2 });
        await store.create(input);
        const paused = await store.setControl(
          input.id,
          { from: ["RUNNING"], to: "PAUSED", reason: "stock_not_running" },
          T0 + 1,
        );
        expect(paused).toMatchObject({
          changed: true,
          record: { control: "PAUSED", controlReason: "stock_not_running" },
        });
        expect(await store.get(input.id)).toMatchObject({ controlReason: "stock_not_running" });
        // A refused change keeps it.
        await store.setControl(input.id, { from: ["RUNNING"], to: "PAUSED", reason: "stock_budget_exhausted" }, T0 + 2);
        expect((await store.get(input.id))?.controlReason).toBe("stock_not_running");
        const resumed = await store.setControl(input.id, { from: ["PAUSED"], to: "RUNNING" }, T0 + 3);
        expect(resumed.record.controlReason).toBeUndefined();
        expect((await store.get(input.id))?.controlReason).toBeUndefined();
      });

      it("keeps a campaign's start_at", async () => {
        const store = makeStore();
        const input = newCampaign({ startAt: T0 + 60_000 });
        const { record } = await store.create(input);
        expect(record.startAt).toBe(T0 + 60_000);
        expect((await store.get(input.id))?.startAt).toBe(T0 + 60_000);
      });

      it("counts cancellations beside sends and failures, and a recount replaces them", async () => {
        const store = makeStore();
        const input = newCampaign({ total: 3 });
        await store.create(input);
        await Promise.all([
          store.recordOutcomes(input.id, outcomeTally("CANCELLED"), T0 + 1),
          store.recordOutcomes(input.id, outcomeTally("CANCELLED"), T0 + 1),
          store.recordOutcomes(input.id, outcomeTally("FAILED", "NOT_ENOUGH"), T0 + 1),
        ]);
        expect(await store.get(input.id)).toMatchObject({ sent: 0, failed: 1, cancelled: 2, version: 3 });
        const counts = { sent: 1, failed: 0, cancelled: 2, failuresByCode: {} };
        expect(await store.reconcile(input.id, counts, 3, T0 + 2)).toBe(true);
        expect(await store.get(input.id)).toMatchObject({ sent: 1, failed: 0, cancelled: 2, state: "COMPLETED" });
      });

      it("seals an open campaign as it stands", async () => {
        const store = makeStore();
        const input = newCampaign({ total: 0, chunked: true });
        await store.create(input);
        await store.putChunk({ campaignId: input.id, chunkNo: 0, requestHash: "h0", count: 4, createdAt: T0 });
        await store.countChunk(input.id, 0, T0 + 1);
        const sealed = await store.sealAsIs(input.id, T0 + 2);
        expect(sealed).toMatchObject({ sealed: true, total: 4 });
        expect(await store.sealAsIs(input.id, T0 + 3)).toMatchObject({ sealed: true, total: 4 });
        await expect(store.sealAsIs("no-such-campaign", T0)).rejects.toBeInstanceOf(NotFoundError);
      });

      /** `n` campaigns of a merchant of its own, created 1 ms apart (ids c00, c01 …). */
      async function merchantWith(store: CampaignStore, n: number, stockOf = (_i: number) => "9856000") {
        const mchid = `19${Math.floor(Math.random() * 1e8)}`;
        const ids: string[] = [];
        for (let i = 0; i < n; i++) {
          const id = `list-${randomUUID()}-c${String(i).padStart(2, "0")}`;
          ids.push(id);
          await store.create(newCampaign({ id, mchid, stockId: stockOf(i), createdAt: T0 + i }));
        }
        return { mchid, ids };
      }

      async function listAll(store: CampaignStore, options: Parameters<CampaignStore["list"]>[0]) {
        const seen: CampaignRecord[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list({ ...options, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items);
          sizes.push(page.items.length);
          cursor = page.cursor;
        } while (cursor !== undefined);
        return { ids: seen.map((c) => c.id), sizes };
      }

      it("lists a merchant's campaigns newest first, page by page, and no one else's", async () => {
        const store = makeStore();
        const { mchid, ids } = await merchantWith(store, 5);
        await merchantWith(store, 2);
        const all = await listAll(store, { mchid, limit: 2 });
        expect(all.ids).toEqual([...ids].reverse());
        expect(all.sizes).toEqual([2, 2, 1]);
        const exact = await store.list({ mchid, limit: 5 });
        expect(exact.items.map((c) => c.id)).toEqual([...ids].reverse());
        expect(exact.cursor).toBeUndefined();
        expect((await store.list({ mchid: "1999999999", limit: 10 })).items).toEqual([]);
      });

      it("filters with `where`, reading at most scanLimit campaigns per page", async () => {
        const store = makeStore();
        const { mchid, ids } = await merchantWith(store, 9, (i) => (i % 3 === 0 ? "111" : "222"));
        const where = (c: CampaignRecord) => c.stockId === "111";
        const filtered = await listAll(store, { mchid, limit: 10, where, scanLimit: 2 });
        expect(filtered.ids).toEqual([ids[6], ids[3], ids[0]]);
        // 9 campaigns read 2 at a time: pages may be short, even empty, but every match comes once, in order.
        expect(filtered.sizes.reduce((a, b) => a + b, 0)).toBe(3);
        expect(filtered.sizes.length).toBeGreaterThanOrEqual(5);
        const firstOnly = await store.list({ mchid, limit: 1, where, scanLimit: 100 });
        expect(firstOnly.items.map((c) => c.id)).toEqual([ids[6]]);
        expect(firstOnly.cursor).toBeDefined();
        const rest = await listAll(store, { mchid, limit: 1, where, scanLimit: 100, cursor: firstOnly.cursor! });
        expect(rest.ids).toEqual([ids[3], ids[0]]);
      });

      it("refuses a cursor it did not return, or one of another merchant's list, naming the cursor", async () => {
        const store = makeStore();
        const { mchid } = await merchantWith(store, 3);
        const { cursor } = await store.list({ mchid, limit: 1 });
        expect(cursor).toBeDefined();
        const decoded = JSON.parse(Buffer.from(cursor!, "base64url").toString()) as Record<string, string>;
        const crafted = [
          "not-a-cursor",
          Buffer.from("[]").toString("base64url"),
          Buffer.from(JSON.stringify({ ...decoded, extra: "1" })).toString("base64url"),
          Buffer.from(JSON.stringify({ pk: "SEND#x", gsi1pk: "x", gsi1sk: "y" })).toString("base64url"),
        ];
        for (const bad of crafted) {
          await expect(store.list({ mchid, limit: 1, cursor: bad })).rejects.toMatchObject({
            name: "ValidationError",
            field: "cursor",
          });
        }
        await expect(store.list({ mchid: "1999999999", limit: 1, cursor: cursor! })).rejects.toMatchObject({
          field: "cursor",
        });
        expect((await store.list({ mchid, limit: 5, cursor: cursor! })).items).toHaveLength(2);
      });
    });

    describe("the sweeper's view", () => {
      const activeIds = async (store: CampaignStore) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listActive({ limit: 3, ...(cursor ? { cursor } : {}) });
          ids.push(...page.items.map((c) => c.id));
          cursor = page.cursor;
        } while (cursor !== undefined);
        return ids;
      };

      it("lists campaigns oldest first, page by page, until they are retired", async () => {
        const store = makeStore();
        const base = T0 + Math.floor(Math.random() * 1e9);
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) {
          const { record } = await store.create(newCampaign({ createdAt: base + i }));
          ids.push(record.id);
        }
        const listed = (await activeIds(store)).filter((id) => ids.includes(id));
        expect(listed).toEqual(ids);
        await store.retire(ids[1]!, T0);
        await store.retire(ids[1]!, T0); // again: nothing happens
        await store.retire(`camp-${randomUUID()}`, T0); // unknown: nothing happens
        expect((await activeIds(store)).filter((id) => ids.includes(id))).toEqual([ids[0], ids[2], ids[3]]);
        const cursor = Buffer.from(JSON.stringify({ pk: "SEND#x", gsi1pk: "x", gsi1sk: "y" })).toString("base64url");
        await expect(store.listActive({ limit: 1, cursor })).rejects.toMatchObject({ field: "cursor" });
      });

      it("stores the sweeper's state under its sequence number, touching nothing else", async () => {
        const store = makeStore();
        const { record } = await store.create(newCampaign());
        const first = { seq: 1, requeuedAt: 0 };
        expect(await store.saveSweep(record.id, first, 0)).toBe(true);
        expect(await store.saveSweep(record.id, first, 0)).toBe(false); // another run wrote first
        const second = {
          seq: 2,
          requeuedAt: T0 + 5,
          pass: {
            cursor: "opaque",
            counts: { sent: 3, failed: 1, cancelled: 0, failuresByCode: { NOT_ENOUGH: 1 } },
            pending: 2,
            seen: 6,
            startVersion: 4,
            startedAt: T0 + 1,
            requeue: true,
            requeued: 2,
          },
        };
        expect(await store.saveSweep(record.id, second, 1)).toBe(true);
        const stored = await store.get(record.id);
        expect(stored).toEqual({ ...record, sweep: second });
        // Once reconciled, the sweeper has nothing more to store.
        expect(await store.reconcile(record.id, { sent: 100, failed: 0, failuresByCode: {} }, 0, T0 + 9)).toBe(true);
        expect(await store.saveSweep(record.id, { seq: 3, requeuedAt: 0 }, 2)).toBe(false);
      });
    });

    describe("retries", () => {
      it("keeps a retry's origin, and appends a parent's retries only at the length the caller read", async () => {
        const store = makeStore();
        const parent = newCampaign({ total: 3 });
        await store.create(parent);
        const origin = { campaignId: parent.id, attempt: 1, codes: ["NOT_ENOUGH", "SYSTEM_ERROR"] };
        const child = newCampaign({ total: 0, chunked: true, retryOf: origin });
        expect((await store.create(child)).record.retryOf).toEqual(origin);
        expect((await store.get(child.id))?.retryOf).toEqual(origin);
        expect((await store.get(parent.id))?.retries).toBeUndefined();

        const first = { campaignId: child.id, codes: origin.codes };
        const added = await store.addRetry(parent.id, first, 0, T0 + 1);
        expect(added).toMatchObject({ changed: true, record: { retries: [first], updatedAt: T0 + 1 } });
        // A racer that read the parent before the first retry was added loses, and sees the winner.
        const late = await store.addRetry(parent.id, { campaignId: "other", codes: ["X"] }, 0, T0 + 2);
        expect(late).toMatchObject({ changed: false, record: { retries: [first] } });
        const second = { campaignId: "second", codes: ["USER_ACCOUNT_ABNORMAL"] };
        expect((await store.addRetry(parent.id, second, 1, T0 + 3)).record.retries).toEqual([first, second]);
        expect((await store.get(parent.id))?.retries).toEqual([first, second]);
        await expect(store.addRetry("no-such-campaign", first, 0, T0)).rejects.toBeInstanceOf(NotFoundError);
      });

      it("stores a retry's filling progress only forward", async () => {
        const store = makeStore();
        const child = newCampaign({ total: 0, chunked: true });
        await store.create(child);
        expect((await store.get(child.id))?.retryFill).toBeUndefined();
        const one = await store.advanceRetryFill(child.id, { nextPage: 1, cursor: "c1", complete: false }, T0 + 1);
        expect(one).toMatchObject({
          changed: true,
          record: { retryFill: { nextPage: 1, cursor: "c1", complete: false } },
        });
        const two = await store.advanceRetryFill(child.id, { nextPage: 2, complete: true }, T0 + 2);
        expect(two.record.retryFill).toEqual({ nextPage: 2, complete: true });
        // A slower filler's older page does not move it back.
        const back = await store.advanceRetryFill(child.id, { nextPage: 1, cursor: "c1", complete: false }, T0 + 3);
        expect(back).toMatchObject({ changed: false, record: { retryFill: { nextPage: 2, complete: true } } });
        expect((await store.get(child.id))?.retryFill).toEqual({ nextPage: 2, complete: true });
        await expect(
          store.advanceRetryFill("no-such-campaign", { nextPage: 1, complete: false }, T0),
        ).rejects.toBeInstanceOf(NotFoundError);
      });
    });
  });
}
