/**
 * A campaign of 1,000,000 recipients completes through the enforced local stack: its send records (final, a mix of
 * SENT and FAILED codes) are written straight into the DynamoDB stand-in, its counters as the workers would have left
 * them (over-counted, as a crash between counting and recording final does), and the sweeper, invoked by the local
 * stack from the template's schedule with the template's Timeout and MemorySize, recounts it page by page until it
 * is COMPLETED with exact counters. Reports the write time (dynalite, and DynamoDB Local on a sample), the sweeper's
 * invocations with their longest duration and largest heap against the template's limits, and the DynamoDB calls of
 * one status read (`GET /campaigns/{id}`), for this campaign and for a tiny one.
 *
 *   npx tsx test/bench/campaign-scale.ts [--recipients 1000000] [--interval 60] [--ddb-local-sample 100000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BatchWriteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { startDynamoDbLocal } from "#local/stack/dynamodb-local.js";
import type { Invocation } from "#local/stack/function-host/function-host.js";
import { heapLimitMb } from "#local/stack/function-host/function-host.js";
import { startLocalStack } from "#local/stack/start-local-stack.js";
import { ensureTable } from "#shared/adapters/dynamodb/create-table.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbCampaignStore } from "#shared/adapters/dynamodb/dynamodb-campaign-store.js";
import { SEND_ITEMS } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { recipientOutRequestNo } from "#shared/domain/campaigns/campaign-keys.js";
import type { SweepReport } from "#shared/domain/campaigns/sweep-campaigns.js";
import type { SendRecord } from "#shared/domain/ports.js";
import { apiReadCalls } from "./api-read-calls.js";

export interface CampaignScaleOptions {
  recipients: number;
  /** Seconds between the sweeper's invocations (the template's rate by default: 60). */
  intervalSeconds?: number;
  /** Records written into DynamoDB Local for the write-rate comparison (0: skip; needs java). */
  ddbLocalSample: number;
  log?: (line: string) => void;
}

export interface CampaignScaleResult {
  recipients: number;
  failed: number;
  overCount: number;
  write: { backend: string; records: number; seconds: number; perSecond: number }[];
  completedAfterSeconds: number;
  sweeper: {
    invocations: number;
    failures: string[];
    maxDurationMs: number;
    maxHeapMb: number;
    recordsRead: number;
    timeoutSeconds: number;
    memorySize: number;
    heapLimitMb: number;
    intervalSeconds: number;
  };
  final: { state: string; sent: number; failed: number; pending: number; failuresByCode: Record<string, number> };
  exact: boolean;
  statusRead: { big: string[]; small: string[] };
}

const FAILURE_CODES = ["NOT_ENOUGH", "RULE_LIMIT", "USER_ACCOUNT_ABNORMAL"] as const;
const BATCH = 25;
/** BatchWriteItem calls in flight: more only slows dynalite down (its writes contend), and gains DynamoDB Local little. */
const WRITERS = 4;

/** The i-th recipient's final record: 1 in 50 FAILED (codes in turn), the rest SENT. */
function recordOf(campaignId: string, mchid: string, i: number, now: number): SendRecord {
  const openid = `o-scale-${i}`;
  const outRequestNo = recipientOutRequestNo(campaignId, openid, 0);
  const base = {
    mchid,
    outRequestNo,
    requestHash: "bench",
    stockId: "bench-stock",
    openid,
    appid: "wx-bench",
    campaignId,
    attempts: 1,
    leaseUntil: 0,
    createdAt: now,
    updatedAt: now,
  };
  if (i % 50 === 7) {
    const code = FAILURE_CODES[Math.floor(i / 50) % FAILURE_CODES.length]!;
    return { ...base, state: "FAILED", errorCode: code, errorMessage: `refused: ${code}` };
  }
  return { ...base, state: "SENT", couponId: String(90_000_000_000 + i) };
}

/** BatchWriteItem of `count` records (25 per call, WRITERS calls in flight, unprocessed items sent again). */
async function writeRecords(
  client: DynamoDBClient,
  tableName: string,
  count: number,
  record: (i: number) => SendRecord,
  log: (line: string) => void,
): Promise<number> {
  const started = performance.now();
  let next = 0;
  let written = 0;
  let reported = 0;
  const writer = async () => {
    while (next < count) {
      const from = next;
      const to = Math.min(count, from + BATCH);
      next = to;
      let requests = [];
      for (let i = from; i < to; i++) {
        const item = SEND_ITEMS.toItem(record(i));
        requests.push({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } });
      }
      for (let attempt = 0; requests.length > 0; attempt++) {
        const { UnprocessedItems } = await client.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
        );
        requests = (UnprocessedItems?.[tableName] ?? []) as typeof requests;
        if (requests.length > 0) await sleep(Math.min(1_000, 20 * 2 ** attempt));
      }
      written += to - from;
      if (written - reported >= 100_000) {
        reported = written;
        log(`  ${written.toLocaleString("en-US")} records written`);
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return (performance.now() - started) / 1000;
}

export async function runCampaignScaleBench(options: CampaignScaleOptions): Promise<CampaignScaleResult> {
  const log = options.log ?? console.log;
  const dataDir = mkdtempSync(join(tmpdir(), "wxcoupon-scale-"));
  const stack = await startLocalStack({
    dataDir,
    ...(options.intervalSeconds === undefined
      ? {}
      : { scheduleIntervalSeconds: { sweeper: options.intervalSeconds, reconcile: options.intervalSeconds } }),
  });
  try {
    const sweeperSpec = stack.model.functions.sweeper!;
    const intervalSeconds =
      options.intervalSeconds ?? stack.model.schedules.find((s) => s.functionKind === "sweeper")!.rateSeconds;
    const { endpoints, env } = stack.emulators;
    const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    const client = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: env.AWS_REGION, credentials });
    const store = new DynamoDbCampaignStore({ doc: createDocumentClient(client), tableName: env.TABLE_NAME });
    const now = Date.now();
    const campaignId = `scale-${now}`;
    const n = options.recipients;

    log(`writing ${n.toLocaleString("en-US")} send records into dynalite…`);
    const write: CampaignScaleResult["write"] = [];
    const seconds = await writeRecords(
      client,
      env.TABLE_NAME,
      n,
      (i) => recordOf(campaignId, stack.mchid, i, now),
      log,
    );
    write.push({ backend: "dynalite (LevelDB), the local stack's", records: n, seconds, perSecond: n / seconds });
    // The campaign as the api created it, its counters as the workers left them once every send was recorded: every
    // outcome counted, a few twice (crashes between counting and recording final).
    const failed = Array.from({ length: n }, (_, i) => i).filter((i) => i % 50 === 7).length;
    const overCount = 37;
    const failuresByCode: Record<string, number> = {};
    for (let i = 7; i < n; i += 50) {
      const code = FAILURE_CODES[Math.floor(i / 50) % FAILURE_CODES.length]!;
      failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
    }
    await store.create({
      id: campaignId,
      requestHash: "bench",
      mchid: stack.mchid,
      stockId: "bench-stock",
      appid: "wx-bench",
      total: n,
      ratePerSecond: 400,
      createdAt: now,
    });
    await store.markEnqueued(campaignId, n, now);
    await store.recordOutcomes(campaignId, { sent: n - failed + overCount, failed, failuresByCode }, now);
    // A tiny completed-elsewhere campaign for the status read's comparison.
    const small = `scale-small-${now}`;
    await store.create({
      id: small,
      requestHash: "bench",
      mchid: stack.mchid,
      stockId: "bench-stock",
      appid: "wx-bench",
      total: 3,
      ratePerSecond: 400,
      createdAt: now,
    });

    const writtenAt = Date.now();

    log("waiting for the sweeper to complete it…");
    const runner = stack.schedules.sweeper!;
    let view: Record<string, unknown> = {};
    for (;;) {
      const response = await fetch(`${stack.apiUrl}/campaigns/${campaignId}`, {
        headers: { authorization: `Bearer ${stack.token}` },
      });
      view = (await response.json()) as Record<string, unknown>;
      if (view.state === "COMPLETED") break;
      const failures = runner.invocations.filter((i) => !i.ok);
      if (failures.length > 0) throw new Error(`sweeper invocation failed: ${JSON.stringify(failures[0])}`);
      await sleep(2_000);
    }
    const completedAfterSeconds = (Date.now() - writtenAt) / 1000;
    // Let an invocation in flight finish, so its figures count.
    await sleep(1_000);
    const ok = runner.invocations.filter((i): i is Extract<Invocation, { ok: true }> => i.ok);
    const [big, tiny] = await apiReadCalls(stack, "/campaigns/{campaign_id}", [
      `/campaigns/${campaignId}`,
      `/campaigns/${small}`,
    ]);

    if (options.ddbLocalSample > 0) {
      log(`writing ${options.ddbLocalSample.toLocaleString("en-US")} records into DynamoDB Local for comparison…`);
      const local = await startDynamoDbLocal();
      const ddbLocal = new DynamoDBClient({ endpoint: local.endpoint, region: env.AWS_REGION, credentials });
      try {
        await ensureTable(ddbLocal, env.TABLE_NAME);
        const sample = options.ddbLocalSample;
        const s = await writeRecords(
          ddbLocal,
          env.TABLE_NAME,
          sample,
          (i) => recordOf(campaignId, stack.mchid, i, now),
          log,
        );
        write.push({ backend: "DynamoDB Local (in memory)", records: sample, seconds: s, perSecond: sample / s });
      } finally {
        ddbLocal.destroy();
        await local.stop();
      }
    }
    client.destroy();

    const final = {
      state: String(view.state),
      sent: Number(view.sent),
      failed: Number(view.failed),
      pending: Number(view.pending),
      failuresByCode: view.failures_by_code as Record<string, number>,
    };
    return {
      recipients: n,
      failed,
      overCount,
      write,
      completedAfterSeconds,
      sweeper: {
        invocations: runner.invocations.length,
        failures: runner.invocations.flatMap((i) => (i.ok ? [] : [`${i.errorType}: ${i.errorMessage}`])),
        maxDurationMs: Math.max(...ok.map((i) => i.durationMs)),
        maxHeapMb: Math.max(...ok.map((i) => i.maxHeapUsedBytes)) / 2 ** 20,
        recordsRead: ok.reduce((sum, i) => sum + (i.value as SweepReport).recordsRead, 0),
        timeoutSeconds: sweeperSpec.timeoutSeconds,
        memorySize: sweeperSpec.memorySize,
        heapLimitMb: heapLimitMb(sweeperSpec.memorySize),
        intervalSeconds,
      },
      final,
      exact:
        final.state === "COMPLETED" &&
        final.sent === n - failed &&
        final.failed === failed &&
        final.pending === 0 &&
        JSON.stringify(Object.entries(final.failuresByCode).sort()) ===
          JSON.stringify(Object.entries(failuresByCode).sort()),
      statusRead: { big: big!, small: tiny! },
    };
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function formatCampaignScaleBench(r: CampaignScaleResult): string {
  const s = r.sweeper;
  return [
    `campaign of ${r.recipients.toLocaleString("en-US")} recipients (${r.failed.toLocaleString("en-US")} FAILED), counters over-counted by ${r.overCount}`,
    ...r.write.map(
      (w) =>
        `  write: ${w.backend}: ${w.records.toLocaleString("en-US")} records in ${w.seconds.toFixed(0)} s (${w.perSecond.toFixed(0)}/s)`,
    ),
    `  COMPLETED ${r.completedAfterSeconds.toFixed(0)} s after the writes: ${r.final.sent} sent, ${r.final.failed} failed, ${r.final.pending} pending, exact: ${r.exact}`,
    `  sweeper: ${s.invocations} invocations every ${s.intervalSeconds} s, ${s.failures.length} failed, ${s.recordsRead.toLocaleString("en-US")} records read; longest ${(s.maxDurationMs / 1000).toFixed(1)} s of ${s.timeoutSeconds} s, largest heap ${s.maxHeapMb.toFixed(0)} MB of ${s.heapLimitMb} MB (MemorySize ${s.memorySize})`,
    `  status read: ${r.statusRead.big.join(", ")} (tiny campaign: ${r.statusRead.small.join(", ")})`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ""))) {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const interval = flag("--interval");
  const result = await runCampaignScaleBench({
    recipients: Number(flag("--recipients") ?? 1_000_000),
    ...(interval === undefined ? {} : { intervalSeconds: Number(interval) }),
    ddbLocalSample: Number(flag("--ddb-local-sample") ?? 100_000),
  });
  console.log(formatCampaignScaleBench(result));
}
