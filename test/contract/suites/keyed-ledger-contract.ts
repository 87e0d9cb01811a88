import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "#shared/domain/errors.js";
import type { KeyedLedger, KeyedRecord, NewKeyedRecord } from "#shared/domain/ports.js";

export const T0 = 1_800_000_000_000;

/** What the contract needs to know of one kind of keyed record. */
export interface KeyedFixture<N extends NewKeyedRecord, S> {
  /** A fresh record to claim (unique key, requestHash "hash-a", createdAt T0). */
  newRecord(): N;
  succeeded: string;
  /** The success with this id (a coupon_id, a stock_id), and the record fields it leaves. */
  success(id: string): S;
  stored(id: string): Record<string, unknown>;
  /** The error of a second, different success. */
  mismatch: { code: string; field: string };
}

export const uniqueKey = (prefix: string) => ({ mchid: "1900000109", outRequestNo: `${prefix}-${randomUUID()}` });

/**
 * The claim → lease → settle behaviour every `KeyedLedger` must have, whatever it records (sends, stock requests);
 * run against each implementation and kind.
 */
export function keyedLedgerContract<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  name: string,
  makeLedger: () => KeyedLedger<R, N, S>,
  fixture: KeyedFixture<N, S>,
) {
  describe(`KeyedLedger contract (${name})`, () => {
    it("creates a PENDING, unleased record on the first claim", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      const { created, record } = await ledger.claim(input);
      expect(created).toBe(true);
      expect(record).toEqual({ ...input, state: "PENDING", attempts: 0, leaseUntil: 0, updatedAt: T0 });
      expect(await ledger.get(input)).toEqual(record);
    });

    it("returns the stored record, unchanged, when the key is claimed again (even with another hash)", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      const first = await ledger.claim(input);
      const again = await ledger.claim({ ...input, requestHash: "hash-b", createdAt: T0 + 5 });
      expect(again.created).toBe(false);
      expect(again.record).toEqual(first.record);
    });

    it("creates the record already leased to the claimant when leaseMs is given", async () => {
      const ledger = makeLedger();
      const { record } = await ledger.claim(fixture.newRecord(), { leaseMs: 30_000 });
      expect(record).toMatchObject({ state: "PENDING", attempts: 1, leaseUntil: T0 + 30_000 });
    });

    it("lets exactly one of 200 concurrent claims of one key create the record", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => ledger.claim({ ...input, requestHash: `hash-${i}` })),
      );
      const created = results.filter((r) => r.created);
      expect(created).toHaveLength(1);
      const winner = created[0]!.record.requestHash;
      for (const r of results) expect(r.record.requestHash).toBe(winner);
    });

    it("grants a lease once, reports busy until it expires, then lets a second caller in", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      const first = await ledger.acquireLease(input, T0 + 1_000, 10_000);
      expect(first).toMatchObject({
        status: "acquired",
        record: { attempts: 1, leaseUntil: T0 + 11_000, updatedAt: T0 + 1_000 },
      });
      const busy = await ledger.acquireLease(input, T0 + 10_999, 10_000);
      expect(busy).toMatchObject({ status: "busy", record: { attempts: 1, leaseUntil: T0 + 11_000 } });
      const second = await ledger.acquireLease(input, T0 + 11_000, 10_000);
      expect(second).toMatchObject({ status: "acquired", record: { attempts: 2, leaseUntil: T0 + 21_000 } });
    });

    it("grants one lease among 20 concurrent workers", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      const results = await Promise.all(Array.from({ length: 20 }, () => ledger.acquireLease(input, T0 + 1, 5_000)));
      expect(results.filter((r) => r.status === "acquired")).toHaveLength(1);
      expect(results.filter((r) => r.status === "busy")).toHaveLength(19);
      expect((await ledger.get(input))?.attempts).toBe(1);
    });

    it("marks the record uncertain when it takes a lease that lapsed (its holder died), not a free or released one", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      const first = await ledger.acquireLease(input, T0, 1_000);
      expect(first).toMatchObject({ status: "acquired" });
      expect(first.status === "acquired" && first.record.uncertain).toBeFalsy();
      // Released (a clean retryable failure): the next caller's lease is a plain one.
      expect(await ledger.release(input, T0 + 1_000, T0 + 10)).toBe(true);
      const second = await ledger.acquireLease(input, T0 + 20, 1_000);
      expect(second.status === "acquired" && second.record.uncertain).toBeFalsy();
      // Never released nor settled: once it has lapsed, the next lease says the call may have reached WeChat.
      const third = await ledger.acquireLease(input, T0 + 1_020, 1_000);
      expect(third).toMatchObject({ status: "acquired", record: { attempts: 3, uncertain: true } });
      expect(await ledger.get(input)).toMatchObject({ uncertain: true, leaseUntil: T0 + 2_020 });
      // A record claimed already leased (the synchronous path) whose claimant died: the same.
      const claimed = fixture.newRecord();
      await ledger.claim(claimed, { leaseMs: 1_000 });
      const after = await ledger.acquireLease(claimed, T0 + 60_000, 1_000);
      expect(after).toMatchObject({ status: "acquired", record: { attempts: 2, uncertain: true } });
    });

    it("reports a missing record as missing", async () => {
      expect(await makeLedger().acquireLease(fixture.newRecord(), T0, 1_000)).toEqual({ status: "missing" });
    });

    it("marks a record succeeded once and answers a repeat of the same success without change", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input, { leaseMs: 10_000 });
      const first = await ledger.succeed(input, fixture.success("id-1"), T0 + 500);
      expect(first.changed).toBe(true);
      expect(first.replacedFailure).toBeUndefined();
      expect(first.record).toMatchObject({
        state: fixture.succeeded,
        ...fixture.stored("id-1"),
        leaseUntil: 0,
        updatedAt: T0 + 500,
      });
      const again = await ledger.succeed(input, fixture.success("id-1"), T0 + 900);
      expect(again).toEqual({ changed: false, record: first.record });
      expect(await ledger.acquireLease(input, T0 + 1_000_000, 1_000)).toEqual({
        status: "final",
        record: first.record,
      });
    });

    it("refuses a second, different success for a succeeded record", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      await ledger.succeed(input, fixture.success("id-1"), T0 + 1);
      const error = await ledger.succeed(input, fixture.success("id-2"), T0 + 2).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject(fixture.mismatch);
      expect(await ledger.get(input)).toMatchObject(fixture.stored("id-1"));
    });

    it("lets a late success override a recorded failure (the coupon or stock exists)", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      await ledger.fail(input, { code: "SYSTEM_ERROR", message: "gave up" }, T0 + 1);
      const late = await ledger.succeed(input, fixture.success("id-9"), T0 + 2);
      expect(late.changed).toBe(true);
      // The failure it replaced is named (its campaign counted it); a repeat replaces nothing.
      expect(late.replacedFailure).toEqual({ code: "SYSTEM_ERROR" });
      expect((await ledger.succeed(input, fixture.success("id-9"), T0 + 3)).replacedFailure).toBeUndefined();
      expect(late.record.state).toBe(fixture.succeeded);
      expect(late.record.errorCode).toBeUndefined();
      expect(late.record.errorMessage).toBeUndefined();
    });

    it("marks a PENDING record FAILED once; a later failure or a succeeded record is left alone", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input, { leaseMs: 1_000 });
      const failed = await ledger.fail(input, { code: "NOT_ENOUGH", message: "budget exhausted" }, T0 + 10);
      expect(failed.changed).toBe(true);
      expect(failed.record).toMatchObject({
        state: "FAILED",
        errorCode: "NOT_ENOUGH",
        errorMessage: "budget exhausted",
        leaseUntil: 0,
      });
      const again = await ledger.fail(input, { code: "RULE_LIMIT", message: "x" }, T0 + 20);
      expect(again).toEqual({ changed: false, record: failed.record });

      const succeeded = fixture.newRecord();
      await ledger.claim(succeeded);
      await ledger.succeed(succeeded, fixture.success("id-1"), T0 + 1);
      const notFailed = await ledger.fail(succeeded, { code: "NOT_ENOUGH", message: "late" }, T0 + 2);
      expect(notFailed.changed).toBe(false);
      expect(notFailed.record).toMatchObject({ state: fixture.succeeded, ...fixture.stored("id-1") });
    });

    it("throws NotFoundError when settling an unknown record", async () => {
      const ledger = makeLedger();
      await expect(ledger.succeed(fixture.newRecord(), fixture.success("c"), T0)).rejects.toBeInstanceOf(NotFoundError);
      await expect(ledger.fail(fixture.newRecord(), { code: "X", message: "y" }, T0)).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it("releases only the caller's own lease, records the last error and lets a retry in at once", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      const lease = await ledger.acquireLease(input, T0, 60_000);
      if (lease.status !== "acquired") throw new Error("expected a lease");
      expect(await ledger.release(input, lease.record.leaseUntil + 1, T0 + 1)).toBe(false);
      const error = { code: "SYSTEM_ERROR", message: "wechat 500" };
      expect(await ledger.release(input, lease.record.leaseUntil, T0 + 2, error)).toBe(true);
      expect(await ledger.get(input)).toMatchObject({
        state: "PENDING",
        leaseUntil: 0,
        errorCode: "SYSTEM_ERROR",
        updatedAt: T0 + 2,
      });
      expect(await ledger.acquireLease(input, T0 + 3, 60_000)).toMatchObject({
        status: "acquired",
        record: { attempts: 2 },
      });
      // A stale holder (first lease) cannot free the second worker's lease.
      expect(await ledger.release(input, lease.record.leaseUntil, T0 + 4)).toBe(false);
    });

    it("takes back the attempt of a lease released without a call (notCalled), fenced like any release", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      await ledger.claim(input);
      const lease = await ledger.acquireLease(input, T0, 60_000);
      if (lease.status !== "acquired") throw new Error("expected a lease");
      expect(await ledger.release(input, lease.record.leaseUntil + 1, T0 + 1, undefined, { notCalled: true })).toBe(
        false,
      );
      expect(await ledger.release(input, lease.record.leaseUntil, T0 + 2, undefined, { notCalled: true })).toBe(true);
      expect(await ledger.get(input)).toMatchObject({ state: "PENDING", leaseUntil: 0, attempts: 0 });
      expect(await ledger.acquireLease(input, T0 + 3, 60_000)).toMatchObject({
        status: "acquired",
        record: { attempts: 1 },
      });
    });

    it("does not release a final record", async () => {
      const ledger = makeLedger();
      const input = fixture.newRecord();
      const { record } = await ledger.claim(input, { leaseMs: 1_000 });
      await ledger.succeed(input, fixture.success("c1"), T0 + 1);
      expect(await ledger.release(input, record.leaseUntil, T0 + 2)).toBe(false);
      expect(await ledger.release(fixture.newRecord(), 0, T0)).toBe(false);
    });

    it("reads unknown keys as undefined and hands out copies", async () => {
      const ledger = makeLedger();
      expect(await ledger.get(fixture.newRecord())).toBeUndefined();
      const input = fixture.newRecord();
      const { record } = await ledger.claim(input);
      record.state = "FAILED";
      expect((await ledger.get(input))?.state).toBe("PENDING");
    });
  });
}
