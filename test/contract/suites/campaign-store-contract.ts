import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "#shared/domain/errors.js";
import type { CampaignStore, NewCampaign } from "#shared/domain/ports.js";

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
        enqueued: 0,
        sent: 0,
        failed: 0,
        failuresByCode: {},
        version: 0,
        reconciled: false,
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
            ? store.recordOutcome(input.id, "SENT", undefined, T0 + i)
            : store.recordOutcome(input.id, "FAILED", codes[i % 4], T0 + i),
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

    it("derives ACCEPTED → SENDING from the counters, and COMPLETED only once reconciled", async () => {
      const store = makeStore();
      const input = newCampaign({ total: 2 });
      expect((await store.create(input)).record.state).toBe("ACCEPTED");
      expect((await store.markEnqueued(input.id, 2, T0 + 1)).state).toBe("SENDING");
      const one = await store.recordOutcome(input.id, "SENT", undefined, T0 + 2);
      expect(one).toMatchObject({ state: "SENDING", sent: 1, version: 1, updatedAt: T0 + 2 });
      const two = await store.recordOutcome(input.id, "FAILED", undefined, T0 + 3);
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
      await store.recordOutcome(input.id, "SENT", undefined, T0 + 1);
      await store.recordOutcome(input.id, "SENT", undefined, T0 + 2); // version 2 now
      expect(await store.reconcile(input.id, { sent: 1, failed: 0, failuresByCode: {} }, 1, T0 + 3)).toBe(false);
      expect(await store.get(input.id)).toMatchObject({ sent: 2, reconciled: false, state: "SENDING" });
    });

    it("throws NotFoundError for counters of an unknown campaign (and creates nothing)", async () => {
      const store = makeStore();
      await expect(store.recordOutcome("missing", "SENT", undefined, T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.markEnqueued("missing", 1, T0)).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.get("missing")).toBeUndefined();
    });
  });
}
