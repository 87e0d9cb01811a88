/**
 * Campaign exports at scale: `npx tsx test/bench/exports.ts [--coupons 1000000] [--failures 100000]`.
 * Starts the local stack (the export function in its host, held to the template's Timeout and MemorySize), writes a
 * campaign of `--coupons` coupon records (a tenth of them USED) and `--failures` failed send records straight into the
 * DynamoDB stand-in, then asks the API for both CSV exports and downloads them through their presigned URLs. The
 * items written are copies of ones the real adapters wrote (recordIssued, recordUse, claim + fail), with other ids,
 * so they have exactly the stored shape. Reports: write rate, each export's time, invocations (and any that failed:
 * past the Timeout or out of memory), rows, bytes and the export function's peak V8 heap beside its heap limit; the
 * campaign report's latency at that size and the DynamoDB calls it makes (recorded on the api handler).
 *
 * The table stream is switched off for the bulk writes: the local stack's stream mapping is stopped once the
 * template records' changes have been published, so the copies written straight into the table do not each go
 * through the events publisher and the local bus (1.1 M `coupon.sent`-shaped changes would make the publisher, not
 * the export, what this part measures; in AWS they would be a stream backlog the export does not wait for either).
 * Prints numbers, asserts nothing. `runExportsBench()` is what `npm run bench -- --only exports` calls.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BatchWriteItemCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { heapLimitMb } from "#local/stack/function-host/function-host.js";
import { startLocalStack } from "#local/stack/start-local-stack.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbCampaignStore } from "#shared/adapters/dynamodb/dynamodb-campaign-store.js";
import { DynamoDbCouponStore } from "#shared/adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { KEY } from "#shared/adapters/dynamodb/table-definition.js";
import { runningStock } from "../helpers/local-stack-client.js";
import { apiReadCalls } from "./api-read-calls.js";

export interface ExportRun {
  what: "coupons" | "failures";
  seconds: number;
  invocations: number;
  rows: number;
  bytes: number;
}

export interface ExportsBenchResult {
  coupons: number;
  failures: number;
  writeSeconds: number;
  itemsPerSecond: number;
  runs: ExportRun[];
  /** Invocations of the export function that failed (timed out, ran out of memory, threw), with their errors. */
  failedInvocations: string[];
  /** Longest successful invocation of the export function (ms). */
  maxInvocationMs: number;
  /** The export function's peak V8 heap over both exports. */
  peakHeapMiB: number;
  heapLimitMiB: number;
  memorySize: number;
  timeoutSeconds: number;
  reportMs: number;
  /** The AWS calls (IAM actions) of one `GET /campaigns/{id}/report` at this size, and for a campaign of three. */
  reportCalls: { big: string[]; small: string[] };
}

/** The export function's heap must stay far under its limit whatever the size (a part and a page are held). */
export const EXPORTS_PEAK_HEAP_TARGET_SHARE = 0.5;

const CAMPAIGN = "bench-export-campaign";
const SMALL_CAMPAIGN = "bench-export-small";

export async function runExportsBench(options: {
  coupons: number;
  failures: number;
  log?: (line: string) => void;
}): Promise<ExportsBenchResult> {
  const say = options.log ?? (() => {});
  const dataDir = mkdtempSync(join(tmpdir(), "wxcoupon-bench-exports-"));
  // The host logs each failed invocation as `wxcoupon-export: <errorType>: <message>`.
  const failedInvocations: string[] = [];
  const stack = await startLocalStack({
    dataDir,
    log: (line) => {
      if (line.startsWith("wxcoupon-export: ")) failedInvocations.push(line.slice("wxcoupon-export: ".length));
    },
  });
  const ddb = new DynamoDBClient({
    endpoint: stack.emulators.endpoints.dynamodb,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const doc = createDocumentClient(ddb);
  const table = { doc, tableName: stack.emulators.env.TABLE_NAME };
  try {
    const spec = stack.model.functions.export!;
    // A real stock in the simulator: the coupons export asks WeChat for its end time (EXPIRED), as the API does.
    const STOCK = await runningStock(stack, `bench-export-stock-${Date.now()}`);
    const MCHID = stack.mchid;
    const now = Date.now();
    // The templates: one issued coupon, one used one, one failed send, as the real adapters store them.
    await new DynamoDbCampaignStore(table).create({
      id: CAMPAIGN,
      requestHash: "bench",
      mchid: MCHID,
      stockId: STOCK,
      appid: "wxbench",
      total: options.coupons + options.failures,
      ratePerSecond: 400,
      createdAt: now,
    });
    const coupons = new DynamoDbCouponStore(table);
    const issue = (id: string) => ({
      couponId: id,
      stockId: STOCK,
      mchid: MCHID,
      outRequestNo: `${id}-req`,
      openid: `${id}-openid`,
      appid: "wxbench",
      campaignId: CAMPAIGN,
      sentAt: now,
    });
    await coupons.recordIssued(issue("TPLSENT"), now);
    await coupons.recordIssued(issue("TPLUSED"), now);
    await coupons.recordUse(
      {
        couponId: "TPLUSED",
        stockId: STOCK,
        transactionId: "TPLUSED-tx",
        consumeTime: new Date(now + 60_000).toISOString(),
        usedAt: now + 60_000,
        consumeMchid: MCHID,
        amount: 100,
        couponAmount: 100,
        source: "notification",
      },
      now,
    );
    const ledger = new DynamoDbSendLedger(table);
    const key = { mchid: MCHID, outRequestNo: "TPLFAIL-req" };
    await ledger.claim({
      ...key,
      requestHash: "h",
      createdAt: now,
      stockId: STOCK,
      openid: "TPLFAIL-openid",
      appid: "wxbench",
      campaignId: CAMPAIGN,
    });
    await ledger.fail(key, { code: "USER_ACCOUNT_ABNORMAL", message: "用户账户异常" }, now);
    const raw = async (pk: string) =>
      JSON.stringify((await ddb.send(new GetItemCommand({ TableName: table.tableName, Key: { pk: { S: pk } } }))).Item);
    const templates = {
      sent: { id: "TPLSENT", json: await raw(KEY.coupon("TPLSENT")) },
      used: { id: "TPLUSED", json: await raw(KEY.coupon("TPLUSED")) },
      fail: { id: "TPLFAIL", json: await raw(KEY.send(MCHID, "TPLFAIL-req")) },
    };
    // Copies of the templates: every occurrence of the template's id replaced (pk, ids, openid, index keys).
    const copy = (template: { id: string; json: string }, id: string) =>
      JSON.parse(template.json.replaceAll(template.id, id)) as Record<string, never>;
    const items = function* () {
      for (let i = 0; i < options.coupons; i++) {
        const id = `C${String(i).padStart(9, "0")}`;
        yield copy(i % 10 === 0 ? templates.used : templates.sent, id);
      }
      for (let i = 0; i < options.failures; i++) yield copy(templates.fail, `F${String(i).padStart(9, "0")}`);
    };
    // A campaign of three beside it, for the report's calls at the other end of the scale.
    await new DynamoDbCampaignStore(table).create({
      id: SMALL_CAMPAIGN,
      requestHash: "bench",
      mchid: MCHID,
      stockId: STOCK,
      appid: "wxbench",
      total: 3,
      ratePerSecond: 400,
      createdAt: now,
    });
    // The stream off for the bulk writes (see the header): the templates' changes published first.
    await stack.events.stream?.drained();
    await stack.events.stream?.stop();
    const started = Date.now();
    await writeAll(ddb, table.tableName, items(), 8, (n) => say(`  ${n.toLocaleString()} items written`));
    const writeSeconds = (Date.now() - started) / 1000;
    say(`  written in ${writeSeconds.toFixed(0)} s`);
    // The templates themselves are campaign items too: the exports hold them as well.
    const total = { coupons: options.coupons + 2, failures: options.failures + 1 };

    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const reportStart = performance.now();
    const report = await api("GET", `/campaigns/${CAMPAIGN}/report`);
    const reportMs = performance.now() - reportStart;
    if (report.status !== 200) throw new Error(`report: ${report.status} ${JSON.stringify(report.body)}`);
    const [big, small] = await apiReadCalls(stack, "/campaigns/{campaign_id}/report", [
      `/campaigns/${CAMPAIGN}/report`,
      `/campaigns/${SMALL_CAMPAIGN}/report`,
    ]);

    const runs: ExportRun[] = [];
    for (const what of ["coupons", "failures"] as const) {
      const invocationsBefore = stack.exportHost.invocations;
      const t0 = Date.now();
      const started = await api("POST", `/campaigns/${CAMPAIGN}/exports`, { what });
      if (started.status !== 202) throw new Error(`export: ${started.status} ${JSON.stringify(started.body)}`);
      let state: Record<string, unknown> = started.body;
      while (state.state !== "COMPLETED") {
        if (state.state === "FAILED") throw new Error(`export failed: ${JSON.stringify(state.error)}`);
        await new Promise((r) => setTimeout(r, 1_000));
        state = (await api("GET", `/campaigns/${CAMPAIGN}/exports/${started.body.export_id}`)).body;
      }
      const seconds = (Date.now() - t0) / 1000;
      say(`  ${what}: completed in ${seconds.toFixed(0)} s`);
      const download = await fetch(String(state.download_url));
      let bytes = 0;
      let lines = 0;
      for await (const chunk of download.body!) {
        bytes += chunk.length;
        for (const byte of chunk) if (byte === 10) lines++;
      }
      const rows = lines - 1;
      const expected = what === "coupons" ? total.coupons : total.failures;
      if (rows !== expected || bytes !== state.bytes) {
        throw new Error(`${what}: ${rows} rows / ${bytes} bytes downloaded, expected ${expected} / ${state.bytes}`);
      }
      runs.push({ what, seconds, invocations: stack.exportHost.invocations - invocationsBefore, rows, bytes });
    }
    const items_ = options.coupons + options.failures;
    return {
      coupons: options.coupons,
      failures: options.failures,
      writeSeconds,
      itemsPerSecond: items_ / writeSeconds,
      runs,
      failedInvocations,
      maxInvocationMs: stack.exportHost.longestInvocationMs,
      peakHeapMiB: stack.exportHost.peakHeapUsedBytes / 2 ** 20,
      heapLimitMiB: heapLimitMb(spec.memorySize),
      memorySize: spec.memorySize,
      timeoutSeconds: spec.timeoutSeconds,
      reportMs,
      reportCalls: { big: big!, small: small! },
    };
  } finally {
    ddb.destroy();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** BatchWriteItem in 25s, `parallel` batches in flight; unprocessed items are written again. */
async function writeAll(
  ddb: DynamoDBClient,
  tableName: string,
  items: Iterable<Record<string, never>>,
  parallel: number,
  progress: (written: number) => void,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let written = 0;
  const next = (): Record<string, never>[] => {
    const batch: Record<string, never>[] = [];
    for (let r = iterator.next(); !r.done; r = iterator.next()) {
      batch.push(r.value);
      if (batch.length === 25) break;
    }
    return batch;
  };
  const lane = async () => {
    for (let batch = next(); batch.length > 0; batch = next()) {
      let requests = batch.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
      written += batch.length;
      if (written % 100_000 < 25) progress(written);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

export function formatExportsBench(r: ExportsBenchResult): string {
  return [
    `wrote ${r.coupons.toLocaleString()} coupon + ${r.failures.toLocaleString()} send records in ${r.writeSeconds.toFixed(0)} s (${Math.round(r.itemsPerSecond).toLocaleString()} items/s)`,
    `report at that size: ${r.reportMs.toFixed(0)} ms, ${r.reportCalls.big.join(", ")} (campaign of 3: ${r.reportCalls.small.join(", ")})`,
    ...r.runs.map(
      (x) =>
        `${x.what}: ${x.rows.toLocaleString()} rows, ${(x.bytes / 2 ** 20).toFixed(1)} MiB in ${x.seconds.toFixed(0)} s, ${x.invocations} invocation(s) of ≤ ${r.timeoutSeconds} s`,
    ),
    `export function: longest invocation ${(r.maxInvocationMs / 1000).toFixed(1)} s of ${r.timeoutSeconds} s, ${r.failedInvocations.length} failed${r.failedInvocations.length ? ` (${r.failedInvocations[0]})` : ""}`,
    `export function peak heap ${r.peakHeapMiB.toFixed(0)} MiB of ${r.heapLimitMiB} MiB (MemorySize ${r.memorySize} MB)`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const coupons = arg("--coupons", 1_000_000);
  const result = await runExportsBench({
    coupons,
    failures: arg("--failures", Math.round(coupons / 10)),
    log: (line) => console.log(line),
  });
  console.log(formatExportsBench(result));
}
