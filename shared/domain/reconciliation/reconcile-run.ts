import type { RefundFlowRow, UseFlowRow } from "../../wechatpay/favor/types.js";
import { recordCouponUse } from "../coupons/coupon-lifecycle.js";
import type {
  Clock,
  CouponRecord,
  CouponStore,
  ErrorInfo,
  FindingKind,
  ReconciliationCounts,
  ReconciliationFinding,
  ReconciliationPosition,
  ReconciliationRecord,
  ReconciliationStore,
} from "../ports.js";

/** A flow file being read: rows one at a time as the bytes arrive; `completed` once it was read whole and checked. */
export interface FlowFile<Row> extends AsyncIterable<Row> {
  readonly completed: { rows: number } | undefined;
}

/**
 * WeChat's flow files and stock query, as the reconciliation needs them (shared/adapters/wechatpay/wechat-flow-source.ts).
 * `undefined` from an open: WeChat has no file for the stock (404 RESOURCE_NOT_EXISTS: not yet, or nothing to list;
 * docs/wechatpay-cash-coupons.md#when-the-files-exist).
 */
export interface FlowSource {
  openUseFlow(stockId: string): Promise<FlowFile<UseFlowRow> | undefined>;
  openRefundFlow(stockId: string): Promise<FlowFile<RefundFlowRow> | undefined>;
  /** Whether WeChat serves the stock's use-flow file now (one link call, nothing downloaded). */
  useFlowServed(stockId: string): Promise<boolean>;
  /** The stock's available_end_time (epoch ms) from WeChat's stock query. */
  stockEnd(stockId: string): Promise<number | undefined>;
}

export interface ReconcileDependencies {
  runs: ReconciliationStore;
  coupons: CouponStore;
  flows: FlowSource;
  clock: Clock;
  /** How long one invocation holds a run: longer than the function's timeout, so a holder past it is dead. */
  leaseMs: number;
  /** Rows compared per batch (one BatchGetItem of coupons): at most 100. */
  batchRows?: number;
  /** Rows between checkpoints (each is one write that also adds the segment's counts). */
  checkpointRows?: number;
  /** Batches compared at once (default 8). */
  batchesInFlight?: number;
  /** Coupons looked at per page of the expiry phase (one index Query and one BatchGetItem): at most 100. */
  expiryPageSize?: number;
}

/** Invocations that may end in an error before a run is FAILED (a flow file cut short, WeChat down, …). */
export const MAX_RUN_FAILURES = 5;

/** The flows could not be read yet: WeChat serves them from 10:00 Beijing the day after the stock ends. */
export const FLOWS_NOT_AVAILABLE = "FLOWS_NOT_AVAILABLE";

export const emptyCounts = (): ReconciliationCounts => ({
  use_rows: 0,
  refund_rows: 0,
  use_recovered: 0,
  refund_recorded: 0,
  not_issued: 0,
  expired: 0,
});

/** `retrying`: the invocation ended in an error, recorded on the run (`lastError`); the next one resumes. */
export type AdvanceResult = "completed" | "failed" | "paused" | "busy" | "retrying";

/**
 * Advances one run as far as `shouldStop` allows: reads the use flow, then the refund flow, and compares each row with
 * the coupon records; then records the stock's coupons still unused EXPIRED (`expireUnused`). Every row's work is
 * idempotent, so a run resumes by downloading the file again and skipping the rows before its checkpoint (WeChat
 * serves the whole file again; rows arrive before the file is known whole, so a row may be acted on from a file that
 * later fails its SHA-1: what it recorded is a use WeChat reported, and the next invocation reads the file again).
 *
 * Counting exactly once: a segment's counts are added in the same write that moves the checkpoint past it. A segment
 * read again after a crash finds its uses already recorded, by this run (the history entry names the run), and counts
 * them again, which is right because the crash lost the first count. Campaign totals go through `recordCouponUse`
 * (the coupon store's lease and token), so they count each use once whatever happens here.
 */
export async function advanceRun(
  deps: ReconcileDependencies,
  runId: string,
  shouldStop: () => boolean,
): Promise<AdvanceResult> {
  const now = deps.clock();
  const lease = now + deps.leaseMs;
  const run = await deps.runs.lease(runId, now, lease);
  if (run === undefined) return "busy";
  try {
    const result = await readFlows(deps, run, lease, shouldStop);
    if (result === "paused") await deps.runs.release(run.id, lease, deps.clock());
    return result;
  } catch (error) {
    const info = errorInfo(error);
    const at = deps.clock();
    const after = await deps.runs.recordFailure(run.id, lease, info, at);
    if (after !== undefined && after.failures >= MAX_RUN_FAILURES) {
      await deps.runs.finish(run.id, at, "FAILED", deps.clock(), info);
      return "failed";
    }
    return "retrying";
  }
}

async function readFlows(
  deps: ReconcileDependencies,
  run: ReconciliationRecord,
  lease: number,
  shouldStop: () => boolean,
): Promise<AdvanceResult> {
  let position: ReconciliationPosition = {
    phase: run.phase,
    offset: run.offset,
    ...(run.cursor === undefined ? {} : { cursor: run.cursor }),
  };
  if (position.phase === "use") {
    const file = await deps.flows.openUseFlow(run.stockId);
    if (file === undefined && deps.clock() < run.availableAt) {
      // 404 before the time WeChat documents: the file is not there yet (a stock that has not ended), not empty.
      const error = {
        code: FLOWS_NOT_AVAILABLE,
        message: `WeChat serves the flows of stock ${run.stockId} from ${new Date(run.availableAt).toISOString()}`,
      };
      await deps.runs.finish(run.id, lease, "FAILED", deps.clock(), error);
      return "failed";
    }
    const next = await readFile(deps, run, lease, position, file, useRow, shouldStop);
    if (next === undefined) return "paused";
    position = next;
  }
  if (position.phase === "refund") {
    // WeChat serves both files from the same time: once the use flow was read, a missing refund flow is an empty one.
    const refunds = await deps.flows.openRefundFlow(run.stockId);
    const next = await readFile(deps, run, lease, position, refunds, refundRow, shouldStop);
    if (next === undefined) return "paused";
    position = next;
  }
  if (!(await expireUnused(deps, run, lease, position, shouldStop))) return "paused";
  return (await deps.runs.finish(run.id, lease, "COMPLETED", deps.clock())) ? "completed" : "busy";
}

/**
 * The expiry phase: every coupon this service issued of the stock that is still SENT is recorded EXPIRED at the
 * stock's `available_end_time` (`CouponStore.recordExpiry`: one conditional write, so a coupon expires once and a use
 * recorded meanwhile wins), which the table's stream publishes as `coupon.expired`. It runs after both flow files, so
 * every use WeChat's use flow reports is recorded before its coupon could be expired; a use reported later (a late
 * COUPON.USE, a later run) still turns an EXPIRED coupon USED.
 *
 * Pages of `expiryPageSize` coupons through the stock's coupon list (ids only, then one strongly consistent read of
 * the page), checkpointing the list's cursor with the page's count every `checkpointRows` coupons, so a stock of
 * millions of coupons is expired over as many invocations as it takes. A page read again after a crash finds its
 * coupons already EXPIRED by this run (the history entry names it) and counts them again: the checkpoint that would
 * have counted them was lost. The phase is over when `offset > 0` and no cursor is left (the list is only read from
 * its start at offset 0). Answers false when it stopped early (budget, or the lease was lost).
 *
 * The stock has ended when a run gets here: WeChat served its use flow (it serves none before the end, by its clock),
 * or our clock is past the time WeChat documents for the files, after the end (`readFlows`).
 */
async function expireUnused(
  deps: ReconcileDependencies,
  run: ReconciliationRecord,
  lease: number,
  from: ReconciliationPosition,
  shouldStop: () => boolean,
): Promise<boolean> {
  if (from.offset > 0 && from.cursor === undefined) return true;
  const pageSize = Math.min(deps.expiryPageSize ?? 100, 100);
  const checkpointRows = deps.checkpointRows ?? 2_000;
  let saved = from;
  let position = from;
  let expired = 0;
  const save = async (to: ReconciliationPosition): Promise<boolean> => {
    const ok = await deps.runs.checkpoint(run.id, lease, saved, to, expired > 0 ? { expired } : {}, deps.clock());
    saved = to;
    expired = 0;
    return ok;
  };
  for (;;) {
    const page = await deps.coupons.listIssuedByStock(run.stockId, {
      limit: pageSize,
      ...(position.cursor === undefined ? {} : { cursor: position.cursor }),
    });
    const records = page.items.length === 0 ? new Map<string, CouponRecord>() : await deps.coupons.getMany(page.items);
    const counted = await Promise.all(
      [...records.values()].map(async (record) => {
        if (record.state === "EXPIRED") return expiredBy(record, run.id) ? 1 : 0;
        if (record.state !== "SENT") return 0;
        const change = await deps.coupons.recordExpiry(
          {
            couponId: record.couponId,
            expiredAt: run.availableEndTime,
            source: "reconciliation",
            reconciliationId: run.id,
          },
          deps.clock(),
        );
        return change.changed ? 1 : 0;
      }),
    );
    expired += counted.reduce((sum: number, n) => sum + n, 0);
    position = {
      phase: "expire",
      offset: position.offset + page.items.length,
      ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
    };
    if (page.cursor === undefined) return save(position);
    if (position.offset - saved.offset >= checkpointRows) {
      if (!(await save(position))) return false;
      if (shouldStop()) return false;
    }
  }
}

/** Whether this run recorded the coupon's expiry (a page read again after a crash). */
const expiredBy = (record: CouponRecord, runId: string): boolean =>
  record.history.some((e) => e.state === "EXPIRED" && e.reconciliationId === runId);

type RowOutcome = { kind: FindingKind; finding: ReconciliationFinding } | undefined;
type RowHandler<Row> = (
  deps: ReconcileDependencies,
  run: ReconciliationRecord,
  row: Row,
  record: CouponRecord | undefined,
) => Promise<RowOutcome>;

/**
 * Reads one flow file from `from.offset`, in batches, checkpointing every `checkpointRows`. Answers the position after
 * the file (the next phase at 0), or undefined when it stopped early (budget, or the lease was lost).
 */
async function readFile<Row extends { coupon_id: string }>(
  deps: ReconcileDependencies,
  run: ReconciliationRecord,
  lease: number,
  from: ReconciliationPosition,
  file: FlowFile<Row> | undefined,
  handle: RowHandler<Row>,
  shouldStop: () => boolean,
): Promise<ReconciliationPosition | undefined> {
  const batchRows = Math.min(deps.batchRows ?? 100, 100);
  const checkpointRows = deps.checkpointRows ?? 2_000;
  const concurrency = deps.batchesInFlight ?? 8;
  const rowsKey = from.phase === "use" ? "use_rows" : "refund_rows";
  let saved = from;
  let read = 0; // rows of the file seen, skipped ones included
  let counts: Partial<ReconciliationCounts> = {};
  let batch: Row[] = [];
  const save = async (to: ReconciliationPosition): Promise<boolean> => {
    const ok = await deps.runs.checkpoint(run.id, lease, saved, to, counts, deps.clock());
    saved = to;
    counts = {};
    return ok;
  };
  // Batches in flight (one BatchGetItem each, then their rows' writes): a table's latency, not this loop, sets the
  // pace. A batch holding a coupon of one still in flight waits for all of them, so one coupon's rows stay in order
  // (a coupon used, refunded and used again).
  const inFlight: Promise<void>[] = [];
  const couponsInFlight = new Set<string>();
  const settle = async () => {
    await Promise.all(inFlight.splice(0));
    couponsInFlight.clear();
  };
  const compare = async (rows: Row[]) => {
    const records = await deps.coupons.getMany([...new Set(rows.map((r) => r.coupon_id))]);
    const findings: ReconciliationFinding[] = [];
    const byCoupon = new Map<string, Row[]>();
    for (const row of rows) byCoupon.set(row.coupon_id, [...(byCoupon.get(row.coupon_id) ?? []), row]);
    await Promise.all(
      [...byCoupon].map(async ([couponId, ofCoupon]) => {
        for (const row of ofCoupon) {
          const outcome = await handle(deps, run, row, records.get(couponId));
          if (outcome === undefined) continue;
          counts[outcome.kind] = (counts[outcome.kind] ?? 0) + 1;
          findings.push(outcome.finding);
        }
      }),
    );
    counts[rowsKey] = (counts[rowsKey] ?? 0) + rows.length;
    if (findings.length > 0) await deps.runs.putFindings(run.id, findings);
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    if (rows.some((r) => couponsInFlight.has(r.coupon_id))) await settle();
    if (inFlight.length >= concurrency) await inFlight.shift();
    for (const row of rows) couponsInFlight.add(row.coupon_id);
    const work = compare(rows);
    work.catch(() => {}); // awaited (and thrown) by settle or the shift above; never unhandled in between
    inFlight.push(work);
  };
  if (file !== undefined) {
    for await (const row of file) {
      read += 1;
      if (read <= from.offset) continue;
      batch.push(row);
      if (batch.length >= batchRows) await flush();
      if (read - saved.offset >= checkpointRows && batch.length === 0) {
        await settle();
        if (!(await save({ phase: from.phase, offset: read }))) return undefined;
        // Stopping mid-file drops the download; the next invocation downloads it again and skips to here.
        if (shouldStop()) return undefined;
      }
    }
    await flush();
    await settle();
    if (file.completed === undefined) throw new Error(`the ${from.phase} flow of ${run.stockId} ended unchecked`);
  }
  // The last segment's counts, and the next phase from its start: the refund flow, then the expiry phase.
  const to: ReconciliationPosition = { phase: from.phase === "use" ? "refund" : "expire", offset: 0 };
  if (!(await save(to))) return undefined;
  return to;
}

/** A use-flow row: a use the service lacks is recorded (found by reconciliation) and counted in its campaign. */
const useRow: RowHandler<UseFlowRow> = async (deps, run, row, record) => {
  const finding = (kind: FindingKind, campaignId?: string): RowOutcome => ({
    kind,
    finding: {
      kind,
      flow: "use",
      couponId: row.coupon_id,
      stockId: row.stock_id,
      transactionId: row.transaction_id,
      at: row.consume_time,
      amount: row.coupon_amount,
      ...(campaignId === undefined ? {} : { campaignId }),
    },
  });
  if (record === undefined || !record.issuedByService) return finding("not_issued");
  const known = record.history.find((e) => e.state === "USED" && e.transactionId === row.transaction_id);
  // Known from COUPON.USE or an earlier run: nothing to do. Recorded by this run before a restart: count it again
  // (the checkpoint that would have counted it was lost) and let recordCouponUse finish a cut-off campaign count.
  if (known !== undefined && known.reconciliationId !== run.id) return undefined;
  await recordCouponUse(
    { coupons: deps.coupons, clock: deps.clock },
    {
      couponId: row.coupon_id,
      stockId: row.stock_id,
      transactionId: row.transaction_id,
      consumeTime: row.consume_time,
      usedAt: Date.parse(row.consume_time),
      amount: row.coupon_amount,
      couponAmount: row.coupon_amount,
      ...(row.consume_mchid === "" ? {} : { consumeMchid: row.consume_mchid }),
      source: "reconciliation",
      reconciliationId: run.id,
    },
  );
  return finding("use_recovered", record.campaignId);
};

/** A refund-flow row: the refunded use turns REFUNDED (once per refund). */
const refundRow: RowHandler<RefundFlowRow> = async (deps, run, row, record) => {
  const finding = (kind: FindingKind, campaignId?: string): RowOutcome => ({
    kind,
    finding: {
      kind,
      flow: "refund",
      couponId: row.coupon_id,
      stockId: row.stock_id,
      transactionId: row.transaction_id,
      at: row.refund_time,
      amount: row.refund_amount,
      refundId: row.refund_id,
      ...(campaignId === undefined ? {} : { campaignId }),
    },
  });
  if (record === undefined || !record.issuedByService) return finding("not_issued");
  const known = record.history.find((e) => e.state === "REFUNDED" && e.transactionId === row.transaction_id);
  if (known !== undefined)
    return known.reconciliationId === run.id ? finding("refund_recorded", record.campaignId) : undefined;
  const change = await deps.coupons.recordRefund(
    {
      couponId: row.coupon_id,
      stockId: row.stock_id,
      refundedAt: Date.parse(row.refund_time),
      amount: row.refund_amount,
      transactionId: row.transaction_id,
      source: "reconciliation",
      reconciliationId: run.id,
    },
    deps.clock(),
  );
  return change.changed ? finding("refund_recorded", record.campaignId) : undefined;
};

function errorInfo(error: unknown): ErrorInfo {
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "ERROR";
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.slice(0, 500) };
}
