import { flowFilesAvailableAt } from "../../wechatpay/favor/flows.js";
import { NotFoundError } from "../errors.js";
import type { PendingStock, ReconciliationRecord, ReconciliationTrigger } from "../ports.js";
import { type AdvanceResult, advanceRun, emptyCounts, type ReconcileDependencies } from "./reconcile-run.js";

export interface ReconciliationJobDependencies extends ReconcileDependencies {
  /** How long to wait before asking WeChat again about a stock whose flows it does not serve yet. */
  pollMs: number;
  newId: () => string;
}

/** Stocks and runs one invocation looks at; the rest wait for the next one (the schedule runs every minute). */
const PENDING_STOCKS_PER_RUN = 100;
const RUNNING_PER_RUN = 20;

export interface JobSummary {
  started: string[];
  runs: Record<string, AdvanceResult>;
  /** Stocks WeChat could not be asked about this time (asked again next invocation): stock id → error. */
  stockErrors: Record<string, string>;
}

/**
 * One scheduled invocation (shared/runtime/build-reconcile-function.ts):
 * 1. stocks this service issued coupons of whose flow files WeChat now serves get a run: by our clock (10:00 Beijing
 *    the day after the stock's end, `flowFilesAvailableAt`), or earlier when WeChat already serves the use flow
 *    (WeChat's clock decides; asked at most every `pollMs` per stock);
 * 2. every RUNNING run (scheduled, or requested through `POST /reconciliations`) is advanced until `shouldStop`.
 */
export async function runReconciliationJob(
  deps: ReconciliationJobDependencies,
  shouldStop: () => boolean,
): Promise<JobSummary> {
  const summary: JobSummary = { started: [], runs: {}, stockErrors: {} };
  for (const stock of await deps.runs.pendingStocks(PENDING_STOCKS_PER_RUN)) {
    if (shouldStop()) break;
    try {
      const started = await startIfDue(deps, stock);
      if (started !== undefined) summary.started.push(started);
    } catch (error) {
      // One stock WeChat would not answer about must not hold up the others, nor the running runs.
      summary.stockErrors[stock.stockId] = error instanceof Error ? error.message : String(error);
    }
  }
  for (const run of await deps.runs.listRunning(RUNNING_PER_RUN)) {
    if (shouldStop()) break;
    summary.runs[run.id] = await advanceRun(deps, run.id, shouldStop);
  }
  return summary;
}

/** Starts the stock's scheduled run once WeChat serves its files; answers the run's id, or undefined (not yet). */
async function startIfDue(deps: ReconciliationJobDependencies, stock: PendingStock): Promise<string | undefined> {
  const now = deps.clock();
  if (stock.nextCheckAt !== undefined && stock.nextCheckAt > now) return undefined;
  const end = stock.availableEndTime ?? (await deps.flows.stockEnd(stock.stockId));
  if (end === undefined) return undefined;
  if (stock.availableEndTime === undefined)
    await deps.runs.updatePendingStock(stock.stockId, { availableEndTime: end });
  const due = now >= flowFilesAvailableAt(end) || (await deps.flows.useFlowServed(stock.stockId));
  if (!due) {
    await deps.runs.updatePendingStock(stock.stockId, { nextCheckAt: now + deps.pollMs });
    return undefined;
  }
  // One scheduled run per stock: its id is the stock's, so a crash before the stock leaves the list repeats nothing.
  const run = await createRun(deps, scheduledRunId(stock.stockId), stock.stockId, end, "schedule");
  await deps.runs.markStockReconciled(stock.stockId, run.id, deps.clock());
  return run.id;
}

export const scheduledRunId = (stockId: string) => `auto-${stockId}`;

/**
 * `POST /reconciliations {stock_id}`: a new run of the stock, advanced by the next scheduled invocation. The stock's
 * end time comes from WeChat's stock query (a stock WeChat does not know is a 404 there).
 */
export async function requestReconciliation(
  deps: Pick<ReconciliationJobDependencies, "runs" | "clock" | "newId"> & {
    stockEnd: (stockId: string) => Promise<number | undefined>;
  },
  stockId: string,
): Promise<ReconciliationRecord> {
  const end = await deps.stockEnd(stockId);
  if (end === undefined) throw new NotFoundError("stock_id", `stock ${stockId} has no available_end_time`);
  return createRun(deps, deps.newId(), stockId, end, "request");
}

async function createRun(
  deps: Pick<ReconciliationJobDependencies, "runs" | "clock">,
  id: string,
  stockId: string,
  availableEndTime: number,
  trigger: ReconciliationTrigger,
): Promise<ReconciliationRecord> {
  const now = deps.clock();
  const change = await deps.runs.create({
    id,
    stockId,
    trigger,
    status: "RUNNING",
    phase: "use",
    offset: 0,
    counts: emptyCounts(),
    availableAt: flowFilesAvailableAt(availableEndTime),
    availableEndTime,
    failures: 0,
    createdAt: now,
    updatedAt: now,
  });
  return change.record;
}
