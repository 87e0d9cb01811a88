import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ExportStore, NewExport } from "#shared/domain/ports.js";

const FRESH = 15 * 60_000;
const T0 = 1_800_000_000_000;

export function exportStoreContract(backend: string, makeStore: () => ExportStore) {
  const run = randomUUID()
    .replace(/[^a-z]/g, "")
    .padEnd(12, "q")
    .slice(0, 12);
  const newExport = (campaignId: string, n: number, createdAt = T0): NewExport => ({
    exportId: `exp_${run}${String(n).padStart(12, "a")}`,
    campaignId,
    what: "coupons",
    objectKey: `exports/${campaignId}/${n}.csv`,
    stockId: "stock-1",
    availableEndTime: T0 + 86_400_000,
    createdAt,
  });

  describe(`ExportStore contract (${backend})`, () => {
    it("creates one current export per (campaign, what), answers it while fresh, then starts a new one", async () => {
      const store = makeStore();
      const campaign = `c-${randomUUID()}`;
      const first = await store.startOrReuse(newExport(campaign, 1), T0, FRESH);
      expect(first).toMatchObject({
        created: true,
        record: { state: "PENDING", invocations: 0, leaseUntil: 0, availableEndTime: T0 + 86_400_000 },
      });
      const again = await store.startOrReuse(newExport(campaign, 2, T0 + 1_000), T0 + 1_000, FRESH);
      expect(again).toMatchObject({ created: false, record: { exportId: first.record.exportId } });
      const failures = await store.startOrReuse(
        { ...newExport(campaign, 3, T0 + 1_000), what: "failures" },
        T0 + 1_000,
        FRESH,
      );
      expect(failures.created).toBe(true);
      const later = await store.startOrReuse(newExport(campaign, 4, T0 + FRESH + 1), T0 + FRESH + 1, FRESH);
      expect(later.created).toBe(true);
      expect(later.record.exportId).not.toBe(first.record.exportId);
      expect(await store.get(first.record.exportId)).toMatchObject({ state: "PENDING" });
    });

    it("agrees on one export when requests race", async () => {
      const store = makeStore();
      const campaign = `c-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => store.startOrReuse(newExport(campaign, 10 + i), T0, FRESH)),
      );
      expect(new Set(results.map((r) => r.record.exportId)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
    });

    it("leases an export to one invocation, fences its writes, and completes it once", async () => {
      const store = makeStore();
      const { record } = await store.startOrReuse(newExport(`c-${randomUUID()}`, 20), T0, FRESH);
      const claim = await store.claim(record.exportId, T0, 60_000);
      expect(claim).toMatchObject({ status: "acquired", record: { state: "RUNNING", invocations: 1 } });
      const lease = claim.status === "acquired" ? claim.record.leaseUntil : 0;
      expect((await store.claim(record.exportId, T0 + 1, 60_000)).status).toBe("busy");
      const checkpoint = {
        uploadId: "u1",
        cursor: "next",
        parts: [{ partNumber: 1, etag: '"e1"' }],
        rows: 10,
        bytes: 99,
      };
      expect(await store.saveCheckpoint(record.exportId, lease, checkpoint, T0 + 2)).toBe(true);
      expect(await store.saveCheckpoint(record.exportId, lease + 1, checkpoint, T0 + 2)).toBe(false);
      expect((await store.get(record.exportId))!.checkpoint).toEqual(checkpoint);
      expect(await store.release(record.exportId, lease, T0 + 3)).toBe(true);
      const second = await store.claim(record.exportId, T0 + 4, 60_000);
      expect(second).toMatchObject({ status: "acquired", record: { invocations: 2, checkpoint } });
      const lease2 = second.status === "acquired" ? second.record.leaseUntil : 0;
      // Every part uploaded: the checkpoint says so, without a cursor.
      const uploaded = {
        uploadId: "u1",
        parts: [...checkpoint.parts, { partNumber: 2, etag: '"e2"' }],
        rows: 10,
        bytes: 99,
        uploaded: true,
      };
      expect(await store.saveCheckpoint(record.exportId, lease2, uploaded, T0 + 4)).toBe(true);
      expect((await store.get(record.exportId))!.checkpoint).toEqual(uploaded);
      expect(await store.complete(record.exportId, lease, { rows: 10, bytes: 99 }, T0 + 5)).toBe(false);
      expect(await store.complete(record.exportId, lease2, { rows: 10, bytes: 99 }, T0 + 5)).toBe(true);
      expect(await store.get(record.exportId)).toMatchObject({
        state: "COMPLETED",
        rows: 10,
        bytes: 99,
        completedAt: T0 + 5,
      });
      expect((await store.claim(record.exportId, T0 + 120_000, 60_000)).status).toBe("final");
      expect((await store.claim("exp_zzzzzzzzzzzzzzzzzzzzzzzz", T0, 60_000)).status).toBe("missing");
    });

    it("records a failure, after which the same request starts a new export", async () => {
      const store = makeStore();
      const campaign = `c-${randomUUID()}`;
      const { record } = await store.startOrReuse(newExport(campaign, 30), T0, FRESH);
      const claim = await store.claim(record.exportId, T0, 60_000);
      const lease = claim.status === "acquired" ? claim.record.leaseUntil : 0;
      expect(await store.fail(record.exportId, lease, { code: "EXPORT_ERROR", message: "boom" }, T0 + 1)).toBe(true);
      expect(await store.get(record.exportId)).toMatchObject({ state: "FAILED", error: { code: "EXPORT_ERROR" } });
      const retried = await store.startOrReuse(newExport(campaign, 31, T0 + 2), T0 + 2, FRESH);
      expect(retried.created).toBe(true);
    });
  });
}
