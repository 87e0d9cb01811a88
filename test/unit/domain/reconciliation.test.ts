import { describe, expect, it } from "vitest";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryReconciliationStore } from "#shared/adapters/memory/memory-reconciliation-store.js";
import type { ReconciliationRecord } from "#shared/domain/ports.js";
import {
  advanceRun,
  FLOWS_NOT_AVAILABLE,
  type FlowFile,
  type FlowSource,
} from "#shared/domain/reconciliation/reconcile-run.js";
import {
  type ReconciliationJobDependencies,
  requestReconciliation,
  runReconciliationJob,
  scheduledRunId,
} from "#shared/domain/reconciliation/reconciliation-job.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import type { RefundFlowRow, UseFlowRow } from "#shared/wechatpay/favor/types.js";

const STOCK = "9856000";
const END = Date.parse("2026-12-10T23:59:59+08:00");
const AVAILABLE = flowFilesAvailableAt(END);

function useRow(couponId: string, transactionId: string, amount = 100): UseFlowRow {
  return {
    stock_id: STOCK,
    coupon_id: couponId,
    coupon_type: "全场代金券",
    coupon_amount: amount,
    order_amount: 1000,
    trade_type: "支付",
    transaction_id: transactionId,
    consume_time: "2026-12-08T12:00:00+08:00",
    consume_mchid: "1900000001",
    device_no: "",
    bank_serial_no: "",
    goods_info: "",
  };
}

function refundRow(couponId: string, transactionId: string): RefundFlowRow {
  return {
    stock_id: STOCK,
    coupon_id: couponId,
    coupon_type: "",
    coupon_amount: 100,
    order_amount: 1000,
    trade_type: "退款",
    transaction_id: transactionId,
    refund_time: "2026-12-09T12:00:00+08:00",
    refund_mchid: "1900000001",
    refund_id: `R-${transactionId}`,
    refund_amount: 1000,
    device_no: "",
    bank_serial_no: "",
    goods_info: "",
  };
}

/** Flow files served from arrays; `served` false: WeChat answers 404 (not yet, or nothing to list). */
class ArrayFlows implements FlowSource {
  uses: UseFlowRow[] = [];
  refunds: RefundFlowRow[] = [];
  served = true;
  opened = 0;
  file<Row>(rows: Row[]): FlowFile<Row> {
    let done = false;
    return {
      get completed() {
        return done ? { rows: rows.length } : undefined;
      },
      async *[Symbol.asyncIterator]() {
        for (const row of rows) yield row;
        done = true;
      },
    };
  }
  async openUseFlow() {
    this.opened += 1;
    return this.served && this.uses.length > 0 ? this.file(this.uses) : undefined;
  }
  async openRefundFlow() {
    return this.served && this.refunds.length > 0 ? this.file(this.refunds) : undefined;
  }
  async useFlowServed() {
    return this.served && this.uses.length > 0;
  }
  async stockEnd() {
    return END;
  }
}

function setup(now = AVAILABLE + 1000) {
  const coupons = new MemoryCouponStore();
  const runs = new MemoryReconciliationStore(coupons);
  const flows = new ArrayFlows();
  let clock = now;
  let ids = 0;
  const deps: ReconciliationJobDependencies = {
    runs,
    coupons,
    flows,
    clock: () => clock,
    leaseMs: 60_000,
    pollMs: 3_600_000,
    newId: () => `run-${++ids}`,
    batchRows: 3,
    checkpointRows: 3,
  };
  const issue = (couponId: string, campaignId = "camp-1") =>
    coupons.recordIssued(
      {
        couponId,
        stockId: STOCK,
        mchid: "1900000001",
        outRequestNo: `o-${couponId}`,
        openid: `openid-${couponId}`,
        appid: "wx1",
        campaignId,
        sentAt: Date.parse("2026-12-07T12:00:00+08:00"),
      },
      clock,
    );
  return { coupons, runs, flows, deps, issue, advance: (ms: number) => (clock += ms) };
}

const never = () => false;

async function runToEnd(deps: ReconciliationJobDependencies, id: string): Promise<ReconciliationRecord> {
  for (let i = 0; i < 20; i++) {
    const result = await advanceRun(deps, id, never);
    if (result === "completed" || result === "failed") break;
  }
  return (await deps.runs.get(id))!;
}

describe("reconciliation with the flow files", () => {
  it("records a use WeChat has and the service lacks, counts it once, and reports coupons it never issued", async () => {
    const { coupons, flows, deps, issue } = setup();
    for (const id of ["c1", "c2", "c3"]) await issue(id);
    // c1's use came through COUPON.USE already; c2's was lost; c9 is not ours.
    await coupons.recordUse(
      {
        couponId: "c1",
        stockId: STOCK,
        transactionId: "t1",
        consumeTime: "2026-12-08T12:00:00+08:00",
        usedAt: Date.parse("2026-12-08T12:00:00+08:00"),
        amount: 100,
        source: "notification",
        notificationId: "n1",
      },
      0,
    );
    await coupons.countUse("c1", 0, 60_000);
    flows.uses = [useRow("c1", "t1"), useRow("c2", "t2", 250), useRow("c9", "t9")];
    const run = await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK);
    const done = await runToEnd(deps, run.id);

    expect(done.status).toBe("COMPLETED");
    // c3 was never used: recorded EXPIRED once both files were compared.
    expect(done.counts).toEqual({
      use_rows: 3,
      refund_rows: 0,
      use_recovered: 1,
      refund_recorded: 0,
      not_issued: 1,
      expired: 1,
    });
    expect(await coupons.get("c3")).toMatchObject({ state: "EXPIRED", expiredAt: END });
    const c2 = (await coupons.get("c2"))!;
    expect(c2).toMatchObject({ state: "USED", foundBy: "reconciliation", transactionIds: ["t2"], usedAmount: 250 });
    expect(c2.history.at(-1)).toMatchObject({ source: "reconciliation", reconciliationId: run.id });
    const totals = await coupons.campaignUses("camp-1");
    expect(totals).toMatchObject({ used: 2, usedAmount: 350 });
    const findings = await deps.runs.listFindings(run.id, { limit: 10 });
    expect(findings.items.map((f) => [f.kind, f.couponId])).toEqual([
      ["not_issued", "c9"],
      ["use_recovered", "c2"],
    ]);

    // A second run changes nothing and finds nothing new to record.
    const again = await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);
    expect(again.counts).toMatchObject({ use_rows: 3, use_recovered: 0, not_issued: 1, expired: 0 });
    expect(await coupons.campaignUses("camp-1")).toMatchObject({ used: 2, usedAmount: 350 });
    expect((await coupons.get("c2"))!.history).toHaveLength(c2.history.length);
  });

  it("records refunds of recorded uses as REFUNDED, once", async () => {
    const { coupons, flows, deps, issue } = setup();
    await issue("c1");
    flows.uses = [useRow("c1", "t1")];
    flows.refunds = [refundRow("c1", "t1"), refundRow("c8", "t8")];
    const first = await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);
    expect(first.counts).toMatchObject({ refund_rows: 2, refund_recorded: 1, not_issued: 1, use_recovered: 1 });
    expect((await coupons.get("c1"))!.state).toBe("REFUNDED");
    const second = await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);
    expect(second.counts).toMatchObject({ refund_recorded: 0, use_recovered: 0 });
  });

  it("stops at a checkpoint when told to and resumes by skipping the rows already compared, counting each once", async () => {
    const { coupons, flows, deps, issue } = setup();
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    for (const id of ids) await issue(id);
    flows.uses = ids.map((id) => useRow(id, `t-${id}`));
    const run = await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK);
    // Stop at the first checkpoint (3 rows), then let the lease expire as if the invocation had ended.
    expect(await advanceRun(deps, run.id, () => true)).toBe("paused");
    const paused = (await deps.runs.get(run.id))!;
    expect(paused).toMatchObject({ status: "RUNNING", phase: "use", offset: 3 });
    expect(paused.counts.use_recovered).toBe(3);
    const done = await runToEnd(deps, run.id);
    expect(done.counts).toMatchObject({ use_rows: 10, use_recovered: 10 });
    expect(flows.opened).toBe(2);
    expect(await coupons.campaignUses("camp-1")).toMatchObject({ used: 10 });
  });

  it("holds a run to the file it was reading: a second invocation cannot take a leased run", async () => {
    const { flows, deps, issue } = setup();
    await issue("c1");
    flows.uses = [useRow("c1", "t1")];
    const run = await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK);
    const now = deps.clock();
    await deps.runs.lease(run.id, now, now + 60_000);
    expect(await advanceRun(deps, run.id, never)).toBe("busy");
  });

  it("fails a run whose flows WeChat does not serve yet, by the documented time", async () => {
    const { flows, deps } = setup(AVAILABLE - 60_000);
    flows.served = false;
    const run = await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK);
    const done = await runToEnd(deps, run.id);
    expect(done).toMatchObject({ status: "FAILED", lastError: { code: FLOWS_NOT_AVAILABLE } });
  });

  it("the schedule starts one run per issued stock once WeChat serves its files, and asks again only after the poll interval", async () => {
    const { flows, deps, issue, advance } = setup(AVAILABLE - 3_600_000 * 30);
    await issue("c1");
    flows.uses = [useRow("c1", "t1")];
    flows.served = false;
    expect((await runReconciliationJob(deps, never)).started).toEqual([]);
    flows.served = true; // WeChat's clock is ahead of ours: it serves the file already
    expect((await runReconciliationJob(deps, never)).started).toEqual([]); // not asked again before pollMs
    advance(deps.pollMs);
    const summary = await runReconciliationJob(deps, never);
    expect(summary.started).toEqual([scheduledRunId(STOCK)]);
    expect(summary.runs[scheduledRunId(STOCK)]).toBe("completed");
    expect((await runReconciliationJob(deps, never)).started).toEqual([]);
  });

  it("goes on with the other stocks and the running runs when WeChat does not answer about one stock", async () => {
    const { flows, deps, coupons } = setup();
    await coupons.recordIssued(
      { couponId: "x1", stockId: "broken", mchid: "m", outRequestNo: "o-x1", openid: "o", appid: "a", sentAt: 0 },
      0,
    );
    await coupons.recordIssued(
      { couponId: "c1", stockId: STOCK, mchid: "m", outRequestNo: "o-c1", openid: "o", appid: "a", sentAt: 0 },
      0,
    );
    flows.uses = [useRow("c1", "t1")];
    flows.stockEnd = async (stockId?: string) => {
      if (stockId === "broken") throw new Error("WeChat Pay 500 SYSTEM_ERROR");
      return END;
    };
    const summary = await runReconciliationJob(deps, never);
    expect(summary.stockErrors).toEqual({ broken: "WeChat Pay 500 SYSTEM_ERROR" });
    expect(summary.runs[scheduledRunId(STOCK)]).toBe("completed");
  });
});

describe("the expiry phase: unused coupons recorded EXPIRED once, after both flow files", () => {
  const use = (couponId: string, transactionId: string, source: "notification" | "reconciliation") => ({
    couponId,
    stockId: STOCK,
    transactionId,
    consumeTime: "2026-12-10T23:00:00+08:00",
    usedAt: Date.parse("2026-12-10T23:00:00+08:00"),
    amount: 100,
    source,
  });

  it("expires what is still unused after the use flow: a use only the file reports wins, a rerun expires nothing", async () => {
    const { coupons, flows, deps, issue } = setup();
    for (const id of ["c1", "c2", "c3", "c4"]) await issue(id);
    await coupons.recordUse({ ...use("c1", "t1", "notification"), notificationId: "n1" }, 0);
    flows.uses = [useRow("c1", "t1"), useRow("c2", "t2")]; // c2's COUPON.USE was lost
    const run = await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);

    expect(run).toMatchObject({ status: "COMPLETED", phase: "expire", counts: { use_recovered: 1, expired: 2 } });
    expect((await coupons.get("c2"))!.state).toBe("USED");
    for (const id of ["c3", "c4"]) {
      const c = (await coupons.get(id))!;
      expect(c).toMatchObject({ state: "EXPIRED", expiredAt: END, availableEndTime: END });
      expect(c.history.map((e) => [e.state, e.at, e.source, e.reconciliationId])).toEqual([
        ["SENT", Date.parse("2026-12-07T12:00:00+08:00"), "send", undefined],
        ["EXPIRED", END, "reconciliation", run.id],
      ]);
    }
    const rerun = await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);
    expect(rerun.counts.expired).toBe(0);
    expect((await coupons.get("c3"))!.history).toHaveLength(2);
  });

  it("a use reported after the expiry still wins: EXPIRED → USED, counted in the campaign once", async () => {
    const { coupons, flows, deps, issue } = setup();
    await issue("c1");
    await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);
    expect((await coupons.get("c1"))!.state).toBe("EXPIRED");
    // WeChat's file is complete only later (or a later run reads a newer one): the use it reports is recorded.
    flows.uses = [useRow("c1", "t1")];
    const again = await runToEnd(deps, (await requestReconciliation({ ...deps, stockEnd: flows.stockEnd }, STOCK)).id);
    expect(again.counts).toMatchObject({ use_recovered: 1, expired: 0 });
    expect(await coupons.get("c1")).toMatchObject({ state: "USED", foundBy: "reconciliation", transactionIds: ["t1"] });
    expect(await coupons.campaignUses("camp-1")).toMatchObject({ used: 1 });
  });

  it("pages through a large stock over several invocations and counts each coupon once, a lost checkpoint too", async () => {
    const { coupons, runs, deps, issue } = setup();
    const ids = Array.from({ length: 23 }, (_, i) => `c${String(i).padStart(2, "0")}`);
    for (const id of ids) await issue(id);
    const paged = { ...deps, expiryPageSize: 4, checkpointRows: 8 };
    const run = await requestReconciliation({ ...deps, stockEnd: async () => END }, STOCK);
    // Each invocation stops at its first checkpoint (its budget spent).
    const results: string[] = [];
    results.push(await advanceRun(paged, run.id, () => true));
    expect((await runs.get(run.id))!).toMatchObject({ phase: "expire", offset: 8, counts: { expired: 8 } });
    // The next invocation's checkpoint write is lost (the process dies after the coupons were written): it fails
    // and the one after resumes from offset 8, finding its own expiries in the pages it reads again.
    const checkpoint = runs.checkpoint.bind(runs);
    runs.checkpoint = async () => {
      runs.checkpoint = checkpoint;
      throw new Error("the process died");
    };
    results.push(await advanceRun(paged, run.id, () => true));
    for (let i = 0; i < 10 && results.at(-1) !== "completed"; i++)
      results.push(await advanceRun(paged, run.id, () => true));
    expect(results[0]).toBe("paused");
    expect(results[1]).toBe("retrying");
    expect(results.at(-1)).toBe("completed");
    const done = (await runs.get(run.id))!;
    expect(done.counts.expired).toBe(23);
    expect(done.cursor).toBeUndefined();
    for (const id of ids) expect((await coupons.get(id))!.state).toBe("EXPIRED");
  });
});
