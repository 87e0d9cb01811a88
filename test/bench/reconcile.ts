/**
 * Reconciliation at scale: `npx tsx test/bench/reconcile.ts [--rows 1000000]`.
 * This process writes a use-flow file of `--rows` records and plays WeChat (flow-parse.ts: a signed E13 answer, the
 * file streamed from disk). A child process is the reconcile function, run with the V8 heap capped at the function's
 * MemorySize (FUNCTION_SIZING in infra/settings.ts, what the template deploys): the real job
 * (`advanceRun`, shared/domain/reconciliation/reconcile-run.ts) through the real client and flow adapter
 * (`WechatFlowSource`), comparing every row with the coupon records in batches of 100, checkpointing, and recording
 * the uses the service lacked (one in 1,000) through the coupon store's use path and campaign count.
 *
 * The coupon table is played by a store that holds nothing per coupon for the 999 in 1,000 rows whose use the service
 * already has (it answers those records computed from the row's index, as DynamoDB would answer them from disk), and
 * the in-memory store for the rest: so the child's memory is the job's, not a table's. Prints numbers, asserts nothing.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CouponStore } from "#shared/domain/ports.js";
import { FUNCTION_SIZING } from "../../infra/settings.js";
import { benchClient, runFlowChild } from "./flow-parse.js";

const MCHID = "1900000001";
const STOCK_ID = "9856000";
/** One row in this many is a use the service never heard of (its COUPON.USE was lost). */
const MISSING_EVERY = 1_000;
const CAMPAIGN = "bench-campaign";

export interface ReconcileBenchResult {
  rows: number;
  fileBytes: number;
  seconds: number;
  rowsPerSecond: number;
  recovered: number;
  campaignUsed: number;
  memorySizeMiB: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  status: string;
}

/** The row index flow-parse.ts's writer gave coupon `id` (ids are 10,000,000,000 + index). */
const indexOf = (couponId: string) => Number(couponId) - 10_000_000_000;
const transactionOf = (index: number) => `4200${String(index).padStart(24, "0")}`;

async function reconcileInChild(baseUrl: string, rows: number): Promise<void> {
  const { MemoryCouponStore } = await import("#shared/adapters/memory/memory-coupon-store.js");
  const { MemoryReconciliationStore } = await import("#shared/adapters/memory/memory-reconciliation-store.js");
  const { WechatFlowSource } = await import("#shared/adapters/wechatpay/wechat-flow-source.js");
  const { advanceRun, emptyCounts } = await import("#shared/domain/reconciliation/reconcile-run.js");
  const client = await benchClient(baseUrl);
  const written = new MemoryCouponStore();
  const sentAt = Date.parse("2030-05-19T00:00:00+08:00");
  const issue = (index: number) => ({
    couponId: String(10_000_000_000 + index),
    stockId: STOCK_ID,
    mchid: MCHID,
    outRequestNo: `bench-${index}`,
    openid: `o-${index}`,
    appid: "wx-bench",
    campaignId: CAMPAIGN,
    sentAt,
  });
  for (let i = 0; i < rows; i += MISSING_EVERY) await written.recordIssued(issue(i), sentAt);
  // Coupons whose use the service has: answered from the index, never stored here.
  const coupons: CouponStore = {
    recordIssued: (issue, now) => written.recordIssued(issue, now),
    recordUse: (use, now) => written.recordUse(use, now),
    recordRefund: (refund, now) => written.recordRefund(refund, now),
    recordExpiry: (expiry, now) => written.recordExpiry(expiry, now),
    listIssuedByStock: (id, options) => written.listIssuedByStock(id, options),
    countUse: (id, now, leaseMs) => written.countUse(id, now, leaseMs),
    get: (id) => written.get(id),
    listByCampaign: (id, options) => written.listByCampaign(id, options),
    campaignUses: (id) => written.campaignUses(id),
    async getMany(ids: readonly string[]) {
      const found = await written.getMany(ids);
      for (const id of ids) {
        const index = indexOf(id);
        if (found.has(id) || index % MISSING_EVERY === 0) continue;
        const { couponId, stockId, mchid, outRequestNo, openid, appid, campaignId } = issue(index);
        found.set(id, {
          couponId,
          stockId,
          state: "USED" as const,
          issuedByService: true,
          mchid,
          outRequestNo,
          openid,
          appid,
          campaignId,
          sentAt,
          transactionIds: [transactionOf(index)],
          history: [
            { state: "SENT" as const, at: sentAt, source: "send" as const, outRequestNo },
            {
              state: "USED" as const,
              at: sentAt + 1000,
              source: "notification" as const,
              transactionId: transactionOf(index),
            },
          ],
          counted: true,
          createdAt: sentAt,
          updatedAt: sentAt,
        });
      }
      return found;
    },
  };
  const runs = new MemoryReconciliationStore(written);
  const merchant = { get: async () => ({ client }) } as never;
  const flows = new WechatFlowSource(merchant, { endOf: async () => Date.parse("2030-05-31T23:59:59+08:00") });
  await runs.create({
    id: "bench",
    stockId: STOCK_ID,
    trigger: "request",
    status: "RUNNING",
    phase: "use",
    offset: 0,
    counts: emptyCounts(),
    availableAt: 0,
    // Past by the run's clock (Date.now), so the run ends with its expiry phase (every issued coupon here is used).
    availableEndTime: Date.now() - 1,
    failures: 0,
    createdAt: Date.now(),
    updatedAt: Date.now(),
  });
  // The bench's WeChat serves the use flow only: the refund flow is read as WeChat's 404 (nothing to list).
  flows.openRefundFlow = async () => undefined;
  const mib = (bytes: number) => bytes / 2 ** 20;
  const baselineRssMiB = mib(process.memoryUsage().rss);
  const started = performance.now();
  const result = await advanceRun(
    { runs, coupons, flows, clock: Date.now, leaseMs: 16 * 60_000 },
    "bench",
    () => false,
  );
  const seconds = (performance.now() - started) / 1000;
  const run = (await runs.get("bench"))!;
  process.stdout.write(
    `${JSON.stringify({
      status: `${result} ${run.status}${run.lastError ? ` ${run.lastError.code}: ${run.lastError.message}` : ""}`,
      rows: run.counts.use_rows,
      recovered: run.counts.use_recovered,
      campaignUsed: (await written.campaignUses(CAMPAIGN)).used,
      seconds,
      baselineRssMiB,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

export async function runReconcileBench(options: { rows?: number } = {}): Promise<ReconcileBenchResult> {
  const rows = options.rows ?? 1_000_000;
  const memorySizeMiB = FUNCTION_SIZING.reconcile.memorySize;
  const { figures, fileBytes } = await runFlowChild<
    Omit<ReconcileBenchResult, "fileBytes" | "rowsPerSecond" | "memorySizeMiB">
  >({
    rows,
    // The function's MemorySize as the heap's ceiling: a job that held the file would die here.
    nodeArgs: [`--max-old-space-size=${memorySizeMiB}`],
    script: fileURLToPath(import.meta.url),
    childArgs: (url) => ["--reconcile", url, String(rows)],
    what: "reconciling",
  });
  if (figures.rows !== rows) throw new Error(`compared ${figures.rows} rows of ${rows}: ${figures.status}`);
  return { ...figures, fileBytes, memorySizeMiB, rowsPerSecond: figures.rows / figures.seconds };
}

export function formatReconcileBench(r: ReconcileBenchResult): string {
  return [
    `reconciliation of a use-flow (${r.rows.toLocaleString("en-US")} rows, ${(r.fileBytes / 2 ** 20).toFixed(0)} MiB file; job in a child process, heap capped at the function's ${r.memorySizeMiB} MB)`,
    `  status          ${r.status}`,
    `  time            ${r.seconds.toFixed(2)} s (${r.rowsPerSecond.toFixed(0)} rows/s)`,
    `  recovered uses  ${r.recovered} (campaign used ${r.campaignUsed})`,
    `  peak RSS        ${r.peakRssMiB.toFixed(0)} MiB (before the download ${r.baselineRssMiB.toFixed(0)} MiB; MemorySize ${r.memorySizeMiB} MB)`,
  ].join("\n");
}

const argValue = (name: string, offset = 1) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + offset] : undefined;
};

if (process.argv.includes("--reconcile")) {
  await reconcileInChild(argValue("--reconcile")!, Number(argValue("--reconcile", 2)));
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runReconcileBench({ rows: Number(argValue("--rows") ?? 1_000_000) });
  console.log(process.argv.includes("--json") ? JSON.stringify(result, null, 2) : formatReconcileBench(result));
}
