/**
 * The expiry phase at scale: `npx tsx test/bench/expiry.ts [--coupons 200000] [--budget-seconds 60]`.
 * Starts dynalite with the service's table (table-definition.ts: gsi2 included), writes `--coupons` unused (SENT)
 * coupon records of one stock straight into it (copies of one the real coupon store wrote, with other ids, so they
 * have exactly the stored shape), then runs a reconciliation run of that stock whose flow files are empty: the real
 * `advanceRun` (shared/domain/reconciliation/reconcile-run.ts) with the real DynamoDB stores, every invocation stopping
 * at its first checkpoint past `--budget-seconds` (as the reconcile function stops `RECONCILE_STOP_MARGIN_SECONDS`
 * before its Timeout) and the next resuming from the stored cursor, until the run completes. The job runs in a child
 * process whose V8 heap is capped at the reconcile function's MemorySize (FUNCTION_SIZING in infra/settings.ts), so
 * its memory is the job's, not the stand-in's. Reports: coupons expired per second, invocations, the run's `expired`
 * count against the coupons written, and the child's peak V8 heap used. Prints numbers, asserts nothing.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbCouponStore } from "#shared/adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbReconciliationStore } from "#shared/adapters/dynamodb/dynamodb-reconciliation-store.js";
import { KEY } from "#shared/adapters/dynamodb/table-definition.js";
import { advanceRun, emptyCounts, type FlowSource } from "#shared/domain/reconciliation/reconcile-run.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import { FUNCTION_SIZING } from "../../infra/settings.js";
import { startDynaliteBackend } from "../helpers/dynamodb-backends.js";

const STOCK = "9857000";
const CAMPAIGN = "bench-expiry-campaign";
const RUN = "bench-expiry";

const arg = (name: string, offset = 1) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + offset] : undefined;
};

/** The child: the reconcile function's job, invocation after invocation, until the run completes. */
async function expireInChild(endpoint: string, tableName: string, budgetSeconds: number, end: number) {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const table = { doc: createDocumentClient(client), tableName };
  // WeChat's files of the stock are served and empty: the run goes straight to its expiry phase.
  const flows: FlowSource = {
    openUseFlow: async () => undefined,
    openRefundFlow: async () => undefined,
    useFlowServed: async () => true,
    stockEnd: async () => end,
  };
  const deps = {
    runs: new DynamoDbReconciliationStore(table),
    coupons: new DynamoDbCouponStore(table),
    flows,
    clock: Date.now,
    leaseMs: 16 * 60_000,
  };
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  const results: string[] = [];
  for (let invocation = 0; invocation < 10_000; invocation++) {
    const begun = performance.now();
    const result = await advanceRun(deps, RUN, () => performance.now() - begun > budgetSeconds * 1000);
    results.push(result);
    if (result === "completed" || result === "failed") break;
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const run = (await deps.runs.get(RUN))!;
  client.destroy();
  console.log(JSON.stringify({ status: run.status, expired: run.counts.expired, results, seconds, peakHeap }));
}

export interface ExpiryBenchResult {
  coupons: number;
  budgetSeconds: number;
  status: string;
  expired: number;
  /** One entry per invocation (as the child printed it). */
  results: string[];
  seconds: number;
  writeSeconds: number;
  peakHeapMiB: number;
  memorySizeMiB: number;
}

export async function runExpiryBench(options: { coupons: number; budgetSeconds: number }): Promise<ExpiryBenchResult> {
  const { coupons, budgetSeconds } = options;
  const backend = await startDynaliteBackend();
  const store = new DynamoDbCouponStore({ doc: backend.doc, tableName: backend.tableName });
  const end = Date.now() - 2 * 86_400_000;
  try {
    // The template: one coupon as the send path records it.
    const template = { couponId: "70000000000", stockId: STOCK, mchid: "1900000001", appid: "wxbench" };
    await store.recordIssued(
      { ...template, outRequestNo: "bench-0", openid: "o-bench-0", campaignId: CAMPAIGN, sentAt: end - 86_400_000 },
      end - 86_400_000,
    );
    const { Item: item } = await backend.doc.send(
      new GetCommand({ TableName: backend.tableName, Key: { pk: KEY.coupon(template.couponId) } }),
    );
    const id = (i: number) => String(70_000_000_000 + i);
    const copy = (i: number) => ({
      ...item!,
      pk: KEY.coupon(id(i)),
      coupon_id: id(i),
      out_request_no: `bench-${i}`,
      openid: `o-bench-${i}`,
      gsi1sk: String(item!.gsi1sk).replace(template.couponId, id(i)),
      gsi2sk: id(i),
      history: [{ ...(item!.history as object[])[0], outRequestNo: `bench-${i}` }],
    });
    const writeStarted = performance.now();
    const batches: number[][] = [];
    for (let i = 1; i < coupons; i += 25) {
      batches.push(Array.from({ length: Math.min(25, coupons - i) }, (_, k) => i + k));
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < batches.length) {
          let items = batches[next++]!.map((i) => ({ PutRequest: { Item: copy(i) } }));
          while (items.length > 0) {
            const answer = await backend.doc.send(
              new BatchWriteCommand({ RequestItems: { [backend.tableName]: items } }),
            );
            items = (answer.UnprocessedItems?.[backend.tableName] ?? []) as typeof items;
          }
        }
      }),
    );
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    const now = Date.now();
    await new DynamoDbReconciliationStore({ doc: backend.doc, tableName: backend.tableName }).create({
      id: RUN,
      stockId: STOCK,
      trigger: "request",
      status: "RUNNING",
      phase: "use",
      offset: 0,
      counts: emptyCounts(),
      availableAt: flowFilesAvailableAt(end),
      availableEndTime: end,
      failures: 0,
      createdAt: now,
      updatedAt: now,
    });
    const memorySize = FUNCTION_SIZING.reconcile.memorySize;
    const child = spawn(
      process.execPath,
      [
        `--max-old-space-size=${memorySize}`,
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--child",
        backend.endpoint,
        backend.tableName,
        String(budgetSeconds),
        String(end),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`the expiring child exited with ${code}`);
    const r = JSON.parse(out.trim().split("\n").at(-1)!) as {
      status: string;
      expired: number;
      results: string[];
      seconds: number;
      peakHeap: number;
    };
    return {
      coupons,
      budgetSeconds,
      status: r.status,
      expired: r.expired,
      results: r.results,
      seconds: r.seconds,
      writeSeconds,
      peakHeapMiB: r.peakHeap / 2 ** 20,
      memorySizeMiB: memorySize,
    };
  } finally {
    await backend.stop();
  }
}

export function formatExpiryBench(r: ExpiryBenchResult): string {
  const rate = r.expired / r.seconds;
  const usable = FUNCTION_SIZING.reconcile.timeout.toSeconds() - 60;
  return [
    `wrote ${r.coupons} SENT coupons of stock ${STOCK} in ${r.writeSeconds.toFixed(1)} s`,
    `run ${r.status} after ${r.results.length} invocations of ≤ ${r.budgetSeconds} s (${r.results.join(", ")})`,
    `expired ${r.expired} of ${r.coupons} coupons in ${r.seconds.toFixed(1)} s: ${rate.toFixed(0)} coupons/s`,
    `peak V8 heap used by the job ${r.peakHeapMiB.toFixed(0)} MiB (heap capped at the function's ${r.memorySizeMiB} MB)`,
    `at this rate 1,000,000 coupons take ${(1_000_000 / rate / 60).toFixed(1)} min: ` +
      `${Math.ceil(1_000_000 / rate / usable)} invocations of the ` +
      `${FUNCTION_SIZING.reconcile.timeout.toMinutes()}-minute Timeout`,
  ].join("\n");
}

// Run as a script (not when run.ts imports it).
if (process.argv.includes("--child")) {
  await expireInChild(arg("--child")!, arg("--child", 2)!, Number(arg("--child", 3)), Number(arg("--child", 4)));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runExpiryBench({
    coupons: Number(arg("--coupons") ?? 200_000),
    budgetSeconds: Number(arg("--budget-seconds") ?? 60),
  });
  console.log(formatExpiryBench(result));
}
