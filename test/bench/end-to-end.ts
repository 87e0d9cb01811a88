/**
 * End to end through the local stack, beside the raw client calling the simulator directly, in one run:
 *
 *   npx tsx test/bench/end-to-end.ts [--coupons 6000] [--worker-concurrency 8] [--raw-concurrency 80] [--json]
 *
 * Layout (2 extra processes, so CPU can be attributed):
 * - raw:   this process runs `createWechatPayClient` and sends N coupons, `rawConcurrency` at a time, to a fresh
 *          simulator in a child process: once with the simulator enforcing WeChat's rate limits (500 sends/s per
 *          merchant), the baseline of the throughput ratio, and once with every limit off (what this machine does
 *          unthrottled).
 * - stack: a fresh simulator enforcing WeChat's limits in one child, the AWS stand-ins (dynalite, fauxqs with its S3,
 *          fake Secrets Manager, started by `startLocalStack` from the template through its `startEmulators` option) in
 *          another, their table changes forwarded to the stack's stream mapping and events publisher here, and the
 *          real handlers in this process's function hosts behind `startLocalStack`'s HTTP gateway and SQS poller, at the service's default rate (500/s). One `POST /campaigns` of N openids, then
 *          `GET /campaigns/{id}` every 100 ms until every send has its outcome (COMPLETED follows with the sweeper). Afterwards a second campaign runs under the V8 sampling
 *          profiler to show where the main thread's time goes.
 * - CPU:   the target is about the service's own code (the repository's code, the node:crypto calls it makes, the
 *          libraries it calls, its share of GC), estimated two independent ways: (1) in the stack, from
 *          `process.cpuUsage()` of this process across POST → every send recorded ÷ N: the request signing, which runs on
 *          libuv's pool (the CPU of one `signMessageAsync`, hand-off included, timed here, per WeChat request), plus the rest × the own code's share of a V8
 *          profile of a second campaign; (2) directly, the send worker's core over in-memory ports with WeChat's signed
 *          answers handed over in-process (own-code.ts). The larger is compared with one RSA-2048 sign + one verify
 *          (node:crypto, the simulator's merchant key) timed in the same run. The whole process's CPU (AWS SDK, node
 *          http, local gateway/poller glue, status polls included) is printed beside it; the simulator's and the
 *          stand-ins' CPU are measured in their children and reported apart.
 * - notify: COUPON.USE notifications built here with node:crypto (AES-256-GCM under the APIv3 key, signed with the
 *          simulator's WeChat Pay key), each with a fresh id and a use (consume_information) of another coupon of
 *          the measured campaign, so each one takes the whole path (inbox, coupon SENT → USED, the campaign's use
 *          totals; the event leaves through the table stream, off this path), POSTed to /notify/wechatpay: sequentially for the ack latency percentiles, then
 *          `notifyConcurrency` at a time for notifications/s.
 * The service logs at WARN during the bench (it logs one INFO line per notification otherwise). Prints numbers,
 * asserts nothing.
 */
import { createCipheriv, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { RunningSimulatorConfig } from "#local/simulator/types.js";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { DEFAULT_SEND_RATE_PER_SECOND } from "#shared/domain/rate/send-rates.js";
import { signMessageAsync } from "#shared/wechatpay/crypto/rsa-sha256.js";
import { chinaTime, validStockBody } from "../helpers/stock-body.js";
import { type CpuCategory, ownCodeShare, profileCpu } from "./cpu-profile.js";
import { measureOwnCodeCpu } from "./own-code.js";
import { type ChildEmulators, type ChildSimulator, forkEmulators, forkSimulator } from "./stand-ins.js";

export const THROUGHPUT_RATIO_TARGET = 0.6;
export const CPU_RATIO_TARGET = 2;
export const NOTIFY_P99_TARGET_MS = 50;

export interface EndToEndOptions {
  /**
   * Coupons per measured run (raw and stack). Default 6,000: long enough that the simulator's one-second windows
   * partly used at the start and end of a run move the rate-limited raw figure by a few % only (a campaign takes at
   * most 10,000 openids).
   */
  coupons?: number;
  /** Send batches in flight in the stack (event source mapping concurrency). Default 8. */
  workerConcurrency?: number;
  /** The stack's SEND_RATE_PER_SECOND and the campaign's rate_per_second (default 500, the service's default; the
   * service caps both at 500). */
  sendRatePerSecond?: number;
  /** Sends in flight in the raw baseline. Default workerConcurrency × 10 (the stack's batch size). */
  rawConcurrency?: number;
  /** Sequential notifications for the latency percentiles. Default 500. */
  notifySequential?: number;
  /** Notifications for the notifications/s figure. Default 1,000. */
  notifyConcurrent?: number;
  notifyConcurrency?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface ThroughputFigure {
  coupons: number;
  seconds: number;
  perSecond: number;
  /** This process's CPU ÷ coupons. */
  processCpuMsPerCoupon: number;
  /** The simulator child's CPU ÷ coupons. */
  simulatorCpuMsPerCoupon: number;
}

export interface RawFigure extends ThroughputFigure {
  concurrency: number;
  wechatLimits: boolean;
  /** Send requests on the wire ÷ coupons (above 1: 429 answers, retried). */
  attemptsPerCoupon: number;
}

export interface EndToEndResult {
  node: string;
  /** The raw client against a simulator enforcing WeChat's rate limits, as the stack's is. */
  raw: RawFigure;
  /** The raw client against a simulator with every rate limit off: how fast this machine sends when nothing throttles. */
  rawUnthrottled: RawFigure;
  stack: ThroughputFigure & {
    workerConcurrency: number;
    ratePerSecond: number;
    sent: number;
    failed: number;
    standInsCpuMsPerCoupon: number;
    /** Outgoing requests of the bench process during the campaign ÷ coupons, by destination. */
    callsPerCoupon: { dynamodb: number; sqs: number; wechat: number; api: number; other: number };
    /** AWS requests ÷ coupons by operation (ReceiveMessage and DeleteMessageBatch are Lambda's event source's). */
    awsOperationsPerCoupon: Record<string, number>;
    /**
     * Where this process's main thread spends its time while it sends a campaign (the profiler does not see libuv's
     * pool, where requests are signed): shares of a V8 sampling profile's busy samples (wall time), from a
     * second, profiled campaign (the profiler slows the process, so the measured one runs without it).
     */
    cpuShareByCategory: Record<CpuCategory, number>;
    /** The service's own code's share of the main thread's CPU, by the same profile (see `ownCodeShare`). */
    ownCodeShare: number;
  };
  /** stack.perSecond ÷ raw.perSecond, both against WeChat's limits. */
  throughputRatio: number;
  /** stack.perSecond ÷ rawUnthrottled.perSecond. */
  unthrottledRatio: number;
  /** The stack's rate ÷ rawUnthrottled.perSecond: the highest unthrottledRatio the stack can reach. */
  unthrottledRatioCeiling: number;
  /** CPU ms of one sign and one verify (node:crypto, on this thread), and of one sign as the client makes it. */
  rsa: { signMs: number; verifyMs: number; signPlusVerifyMs: number; asyncSignMs: number };
  /**
   * CPU per coupon of the service's own code (the issue's "CPU spent in the service's own code"): the repository's
   * code, the node:crypto calls it makes, the libraries it calls (zod, Powertools) and its share of GC; not the AWS
   * SDK, node's HTTP stack, the local gateway/poller or the bench. Two independent estimates; the larger counts.
   */
  ownCode: {
    /**
     * In the stack: the WeChat request signing done on libuv's pool (rsa.asyncSignMs × WeChat requests per coupon) plus
     * the rest of the process's CPU × the profile's own-code share of the main thread (GC and runtime split in
     * proportion). Undefined when the handlers do not run on the main thread: the local stack's function hosts run
     * them in worker threads (local/stack/function-host/), which the profiler and the request counter do not see
     * (no WeChat request is seen here then, though every coupon takes one).
     */
    inStackMsPerCoupon: number | undefined;
    /**
     * The send worker's core (domain, WeChat client and its crypto, merchant runtime, Powertools logger) over
     * in-memory ports, WeChat's signed answers handed over in-process: process.cpuUsage(). Leaves out what the stack
     * figure has of the AWS adapters' own code and node's HTTP send, and has the in-memory adapters' copying instead.
     */
    directMsPerCoupon: number;
    /** The larger of the two (the direct one alone without the stack's) ÷ rsa.signPlusVerifyMs: what the CPU target is judged on. */
    ratio: number;
  };
  /** stack.processCpuMsPerCoupon ÷ rsa.signPlusVerifyMs: the whole process, AWS SDK and HTTP stacks included. */
  processCpuRatio: number;
  /** rawUnthrottled.processCpuMsPerCoupon ÷ rsa.signPlusVerifyMs: the bare client on the same scale. */
  rawCpuRatio: number;
  notify: {
    sequential: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    concurrent: number;
    concurrency: number;
    perSecond: number;
    failures: number;
    standInsCpuMsPerNotification: number;
    processCpuMsPerNotification: number;
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Counts this process's outgoing HTTP requests (node:http and fetch) by `host:port` until `stop()`; AWS calls are also
 * counted by operation, under `op:<X-Amz-Target>` (e.g. `op:DynamoDB_20120810.PutItem`).
 */
function countRequests(): { stop(): Map<string, number> } {
  const counts = new Map<string, number>();
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const onHttp = (message: unknown) => {
    const request = (message as { request: { getHeader(name: string): unknown } }).request;
    add(String(request.getHeader("host") ?? ""));
    const target = request.getHeader("x-amz-target");
    if (target) add(`op:${target}`);
  };
  const onFetch = (message: unknown) => add(new URL((message as { request: { origin: string } }).request.origin).host);
  diagnostics.subscribe("http.client.request.start", onHttp);
  diagnostics.subscribe("undici:request:create", onFetch);
  return {
    stop() {
      diagnostics.unsubscribe("http.client.request.start", onHttp);
      diagnostics.unsubscribe("undici:request:create", onFetch);
      return counts;
    },
  };
}

/** Runs `count` tasks, `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** CPU ms per call of `fn` (this process, all threads), over at least `ms` of wall time after a short warm-up. */
function cpuPerOp(fn: () => unknown, ms: number): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const start = performance.now();
  const cpu0 = cpuMs();
  while (performance.now() - start < ms) {
    fn();
    n++;
  }
  return (cpuMs() - cpu0) / n;
}

/**
 * CPU ms per request signature as the WeChat client makes it (`signMessageAsync`, on libuv's pool), eight in flight:
 * the sign itself plus handing it to a pool thread and back.
 */
async function asyncSignCpuMs(privateKey: KeyObject, calls = 1_500): Promise<number> {
  const message = (i: number) => `POST\n/v3/marketing/favor/users/oBench/coupons\n${i}\nnonce\n{}\n`;
  const signOne = async (i: number) => {
    await signMessageAsync(message(i), privateKey);
  };
  await pool(100, 8, signOne);
  const cpu0 = cpuMs();
  await pool(calls, 8, signOne);
  return (cpuMs() - cpu0) / calls;
}

async function rsaCost(config: RunningSimulatorConfig): Promise<EndToEndResult["rsa"]> {
  const message = Buffer.from(
    `POST\n/v3/marketing/favor/users/oBench/coupons\n${Math.floor(Date.now() / 1000)}\n${randomBytes(16).toString("hex")}\n{"stock_id":"9856000","out_request_no":"B1","appid":"${config.appid}","stock_creator_mchid":"${config.mchid}"}\n`,
  );
  const signature = sign("sha256", message, config.keys.merchantPrivateKey);
  const signMs = cpuPerOp(() => sign("sha256", message, config.keys.merchantPrivateKey), 500);
  const verifyMs = cpuPerOp(() => verify("sha256", message, config.keys.merchantPublicKey, signature), 300);
  const asyncSignMs = await asyncSignCpuMs(config.keys.merchantPrivateKey);
  return { signMs, verifyMs, signPlusVerifyMs: signMs + verifyMs, asyncSignMs };
}

// --- raw baseline -------------------------------------------------------------------------------------------------

/**
 * The raw client sends `coupons` coupons straight to a fresh simulator, `concurrency` at a time. Under WeChat's limits
 * a send the client gives up on after its own 429 retries is sent again with the same out_request_no, as a merchant's
 * loop would, until every coupon is out.
 */
async function rawBaseline(
  work: string,
  run: { coupons: number; concurrency: number; wechatLimits: boolean },
  log: (line: string) => void,
): Promise<{ figure: RawFigure; rsa: EndToEndResult["rsa"] }> {
  const { coupons, concurrency, wechatLimits } = run;
  let sim: ChildSimulator | undefined;
  try {
    sim = await forkSimulator(join(work, `raw-simulator-${wechatLimits ? "limited" : "unlimited"}`), { wechatLimits });
    const config = sim.simulator.config;
    const { createWechatPayClient } = await import("#shared/wechatpay/client.js");
    const { WechatPayApiError } = await import("#shared/wechatpay/errors.js");
    const client = createWechatPayClient({
      mchid: config.mchid,
      merchantSerialNo: config.merchant_serial_no,
      merchantPrivateKey: config.keys.merchantPrivateKeyPem,
      apiv3Key: config.apiv3_key,
      wechatpayPublicKey: { id: config.wechatpay_public_key_id, pem: config.keys.wechatpayPublicKeyPem },
      baseUrl: sim.simulator.url,
    });
    const { stock_id } = await client.stocks.create({
      ...validStockBody(`RAW${Date.now()}`, config.mchid, { maxCoupons: coupons * 2 }),
      belong_merchant: config.mchid,
    });
    await sleep(1_100); // the stock's begin time is one second ahead
    await client.stocks.start(stock_id);
    const send = (prefix: string) => async (i: number) => {
      const body = { stock_id, out_request_no: `${prefix}${i}`, appid: config.appid };
      for (;;) {
        try {
          await client.coupons.send(`o${prefix}${i}`, body);
          return;
        } catch (error) {
          if (!(error instanceof WechatPayApiError && error.statusCode === 429)) throw error;
        }
      }
    };
    await pool(Math.min(200, coupons), concurrency, send("rawwarm")); // connections, JIT
    await sleep(1_000); // a fresh rate window
    log(`raw: sending ${coupons} coupons, ${concurrency} in flight, WeChat's limits ${wechatLimits ? "on" : "off"}`);
    const simCpu0 = await sim.child.cpuMs();
    const requests = countRequests();
    const cpu0 = cpuMs();
    const t0 = performance.now();
    await pool(coupons, concurrency, send("raw"));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs() - cpu0;
    const attempts = requests.stop().get(new URL(sim.simulator.url).host) ?? 0;
    const simCpu = (await sim.child.cpuMs()) - simCpu0;
    const rsa = await rsaCost(config);
    return {
      figure: {
        coupons,
        concurrency,
        wechatLimits,
        seconds,
        perSecond: coupons / seconds,
        attemptsPerCoupon: attempts / coupons,
        processCpuMsPerCoupon: cpu / coupons,
        simulatorCpuMsPerCoupon: simCpu / coupons,
      },
      rsa,
    };
  } finally {
    await sim?.child.stop();
  }
}

// --- the local stack ----------------------------------------------------------------------------------------------

async function callApi<T = Record<string, unknown>>(
  stack: LocalStack,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

interface CampaignView {
  campaign_id: string;
  state: string;
  total: number;
  sent: number;
  failed: number;
  pending: number;
}

async function runCampaign(
  stack: LocalStack,
  stockId: string,
  openids: string[],
  ratePerSecond: number,
): Promise<CampaignView> {
  const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
    stock_id: stockId,
    openids,
    rate_per_second: ratePerSecond,
  });
  if (posted.status !== 202) throw new Error(`POST /campaigns: ${posted.status} ${JSON.stringify(posted.body)}`);
  // Bounded: at 10 coupons/s the largest campaign would still end well inside this.
  const deadline = Date.now() + Math.max(60_000, openids.length * 100);
  while (Date.now() < deadline) {
    const view = await callApi<CampaignView>(stack, "GET", `/campaigns/${posted.body.campaign_id}`);
    // Every send has its outcome: the sending is over. A campaign past the worker's inline recount is marked
    // COMPLETED by the sweeper's next run (every minute, as the template schedules it), which is not sending time.
    if (view.body.state === "COMPLETED" || view.body.pending === 0) return view.body;
    await sleep(100);
  }
  throw new Error(`campaign ${posted.body.campaign_id} did not complete in time`);
}

/** `count` coupon ids the campaign issued (GET /campaigns/{id}/coupons), each to be used once by the notify run. */
async function issuedCoupons(stack: LocalStack, campaignId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await callApi<{ data: { coupon_id: string }[]; cursor?: string }>(
      stack,
      "GET",
      `/campaigns/${campaignId}/coupons?state=SENT&limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    if (page.status !== 200) throw new Error(`GET coupons: ${page.status} ${JSON.stringify(page.body)}`);
    ids.push(...page.body.data.map((c) => c.coupon_id));
    cursor = page.body.cursor;
  } while (cursor && ids.length < count);
  if (ids.length < count) throw new Error(`the campaign issued ${ids.length} coupons; the notify run needs ${count}`);
  return ids.slice(0, count);
}

interface Notification {
  body: string;
  headers: Record<string, string>;
}

/** WeChat's side of a COUPON.USE notification, built independently with node:crypto. */
function couponUseNotification(stack: LocalStack, id: string, stockId: string, couponId: string): Notification {
  const keys = stack.simulator.config.keys;
  const nonce = randomBytes(6).toString("hex");
  const plaintext = JSON.stringify({
    stock_creator_mchid: stack.mchid,
    stock_id: stockId,
    coupon_id: couponId,
    status: "USED",
    normal_coupon_information: { coupon_amount: 100, transaction_minimum: 200 },
    consume_information: {
      consume_time: chinaTime(Date.now()),
      consume_mchid: stack.mchid,
      transaction_id: `4200${couponId.padStart(24, "0")}`,
    },
  });
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(keys.apiv3Key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from("coupon"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).toString("base64");
  const body = JSON.stringify({
    id,
    create_time: chinaTime(Date.now()),
    resource_type: "encrypt-resource",
    event_type: "COUPON.USE",
    summary: "用券成功",
    resource: { original_type: "coupon", algorithm: "AEAD_AES_256_GCM", ciphertext, associated_data: "coupon", nonce },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headerNonce = randomBytes(16).toString("hex");
  const signature = sign(
    "sha256",
    Buffer.from(`${timestamp}\n${headerNonce}\n${body}\n`),
    keys.wechatpayPrivateKey,
  ).toString("base64");
  return {
    body,
    headers: {
      "content-type": "application/json",
      "wechatpay-timestamp": timestamp,
      "wechatpay-nonce": headerNonce,
      "wechatpay-serial": stack.simulator.config.wechatpay_public_key_id,
      "wechatpay-signature": signature,
      "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
    },
  };
}

async function deliver(stack: LocalStack, n: Notification): Promise<number> {
  const response = await fetch(`${stack.apiUrl}/notify/wechatpay`, {
    method: "POST",
    headers: n.headers,
    body: n.body,
  });
  await response.arrayBuffer();
  return response.status;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? 0;

async function notifyBench(
  stack: LocalStack,
  stockId: string,
  emulators: ChildEmulators,
  options: Required<Pick<EndToEndOptions, "notifySequential" | "notifyConcurrent" | "notifyConcurrency">>,
  couponIds: string[],
): Promise<EndToEndResult["notify"]> {
  const run = `${Date.now()}`;
  let failures = 0;
  let next = 0;
  const make = (tag: string, i: number) => {
    const couponId = couponIds[next++];
    if (couponId === undefined) throw new Error(`only ${couponIds.length} coupons to use`);
    return couponUseNotification(stack, `EV-${run}-${tag}-${i}`, stockId, couponId);
  };
  // Warm-up: the notify handler's first call loads the merchant secret and the keys.
  for (let i = 0; i < 20; i++) if ((await deliver(stack, make("warm", i))) !== 204) failures++;

  const latencies: number[] = [];
  for (let i = 0; i < options.notifySequential; i++) {
    const n = make("seq", i); // built (signed) before the clock starts: WeChat's cost, not ours
    const t0 = performance.now();
    const status = await deliver(stack, n);
    latencies.push(performance.now() - t0);
    if (status !== 204) failures++;
  }
  latencies.sort((a, b) => a - b);

  const prepared = Array.from({ length: options.notifyConcurrent }, (_, i) => make("par", i));
  const standIns0 = await emulators.child.cpuMs();
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await pool(prepared.length, options.notifyConcurrency, async (i) => {
    if ((await deliver(stack, prepared[i]!)) !== 204) failures++;
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs() - cpu0;
  const standIns = (await emulators.child.cpuMs()) - standIns0;
  return {
    sequential: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    concurrent: prepared.length,
    concurrency: options.notifyConcurrency,
    perSecond: prepared.length / seconds,
    failures,
    standInsCpuMsPerNotification: standIns / prepared.length,
    processCpuMsPerNotification: cpu / prepared.length,
  };
}

async function stackRun(
  work: string,
  options: Required<Omit<EndToEndOptions, "log" | "rawConcurrency">>,
  log: (line: string) => void,
): Promise<{ stack: EndToEndResult["stack"]; notify: EndToEndResult["notify"] }> {
  process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
  const { startLocalStack } = await import("#local/stack/start-local-stack.js");
  let sim: ChildSimulator | undefined;
  let aws: ChildEmulators | undefined;
  let stack: LocalStack | undefined;
  try {
    sim = await forkSimulator(join(work, "stack-simulator"), { wechatLimits: true });
    stack = await startLocalStack({
      dataDir: join(work, "stack"),
      fresh: true,
      externalSimulator: sim.simulator,
      startEmulators: async (emulatorOptions) => {
        aws = await forkEmulators(emulatorOptions);
        return aws.emulators;
      },
      workerConcurrency: options.workerConcurrency,
      sendRatePerSecond: options.sendRatePerSecond,
    });
    if (aws === undefined) throw new Error("the stack did not start the stand-ins");
    const standIns: ChildEmulators = aws;
    const created = await callApi<{ stock_id: string }>(
      stack,
      "POST",
      "/stocks",
      validStockBody(`E2E${Date.now()}`, stack.mchid, { maxCoupons: options.coupons * 3 }),
    );
    if (created.status !== 201) throw new Error(`create stock: ${created.status} ${JSON.stringify(created.body)}`);
    const stockId = created.body.stock_id;
    await sleep(1_100);
    const started = await callApi(stack, "POST", `/stocks/${stockId}/start`);
    if (started.status !== 200) throw new Error(`start stock: ${started.status}`);

    // Warm-up campaign: secrets, keys, connections and JIT, as a warm Lambda would have them.
    const warm = Array.from({ length: Math.min(200, options.coupons) }, (_, i) => `owarm-${i}`);
    await runCampaign(stack, stockId, warm, options.sendRatePerSecond);

    log(
      `stack: campaign of ${options.coupons} openids, worker concurrency ${options.workerConcurrency}, ${options.sendRatePerSecond}/s`,
    );
    const openids = Array.from({ length: options.coupons }, (_, i) => `obench-${i}`);
    const simCpu0 = await sim.child.cpuMs();
    const awsCpu0 = await standIns.child.cpuMs();
    const requests = countRequests();
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const done = await runCampaign(stack, stockId, openids, options.sendRatePerSecond);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs() - cpu0;
    const counts = requests.stop();
    const simCpu = (await sim.child.cpuMs()) - simCpu0;
    const awsCpu = (await standIns.child.cpuMs()) - awsCpu0;

    const hostOf = (url: string) => new URL(url).host;
    const destinations = {
      dynamodb: hostOf(standIns.emulators.env.AWS_ENDPOINT_URL_DYNAMODB),
      sqs: hostOf(standIns.emulators.env.AWS_ENDPOINT_URL_SQS),
      wechat: hostOf(stack.simulatorUrl),
      api: hostOf(stack.apiUrl),
    };
    const callsPerCoupon = { dynamodb: 0, sqs: 0, wechat: 0, api: 0, other: 0 };
    const awsOperationsPerCoupon: Record<string, number> = {};
    for (const [host, n] of counts) {
      if (host.startsWith("op:")) {
        awsOperationsPerCoupon[
          host
            .slice(3)
            .replace(/^DynamoDB_20120810\./, "")
            .replace(/^AmazonSQS\./, "")
        ] = n / options.coupons;
        continue;
      }
      const name = (Object.keys(destinations) as (keyof typeof destinations)[]).find((k) => destinations[k] === host);
      callsPerCoupon[name ?? "other"] += n / options.coupons;
    }

    log(`notify: ${options.notifySequential} sequential, ${options.notifyConcurrent} at ${options.notifyConcurrency}`);
    const notify = await notifyBench(
      stack,
      stockId,
      standIns,
      options,
      await issuedCoupons(stack, done.campaign_id, 20 + options.notifySequential + options.notifyConcurrent),
    );
    // Last: a process that has run the profiler stays slower afterwards.
    log("stack: a second campaign under the CPU profiler");
    const profile = await profileCpu();
    const profiled = Array.from({ length: Math.min(options.coupons, 2_000) }, (_, i) => `oprof-${i}`);
    await runCampaign(stack, stockId, profiled, options.sendRatePerSecond);
    const byCategory = await profile.stop();
    const busy = Object.values(byCategory).reduce((a, b) => a + b, 0);

    return {
      stack: {
        coupons: options.coupons,
        seconds,
        perSecond: done.sent / seconds,
        processCpuMsPerCoupon: cpu / options.coupons,
        simulatorCpuMsPerCoupon: simCpu / options.coupons,
        standInsCpuMsPerCoupon: awsCpu / options.coupons,
        workerConcurrency: options.workerConcurrency,
        ratePerSecond: options.sendRatePerSecond,
        sent: done.sent,
        failed: done.failed,
        callsPerCoupon,
        awsOperationsPerCoupon,
        cpuShareByCategory: Object.fromEntries(
          Object.entries(byCategory).map(([k, ms]) => [k, busy > 0 ? ms / busy : 0]),
        ) as Record<CpuCategory, number>,
        ownCodeShare: ownCodeShare(byCategory),
      },
      notify,
    };
  } finally {
    // stack.stop() stops the external simulator and stand-ins through their stop(); the children too otherwise.
    await stack?.stop().catch(() => {});
    await aws?.child.stop();
    await sim?.child.stop();
  }
}

/** Runs the raw baseline, then the stack (campaign, then notifications); returns every figure. */
export async function runEndToEndBench(options: EndToEndOptions = {}): Promise<EndToEndResult> {
  const log = options.log ?? (() => {});
  const workerConcurrency = options.workerConcurrency ?? 8;
  const resolved = {
    coupons: options.coupons ?? 6_000,
    workerConcurrency,
    sendRatePerSecond: options.sendRatePerSecond ?? DEFAULT_SEND_RATE_PER_SECOND,
    notifySequential: options.notifySequential ?? 500,
    notifyConcurrent: options.notifyConcurrent ?? 1_000,
    notifyConcurrency: options.notifyConcurrency ?? 16,
  };
  if (resolved.coupons > 10_000) throw new Error("a campaign takes at most 10,000 openids");
  const rawConcurrency = options.rawConcurrency ?? workerConcurrency * 10;
  const work = mkdtempSync(join(tmpdir(), "wxcoupon-e2e-bench-"));
  try {
    const run = { coupons: resolved.coupons, concurrency: rawConcurrency };
    const { figure: rawUnthrottled, rsa } = await rawBaseline(work, { ...run, wechatLimits: false }, log);
    const { figure: raw } = await rawBaseline(work, { ...run, wechatLimits: true }, log);
    log(`own code: ${resolved.coupons} campaign sends through the send worker over in-memory ports`);
    const direct = await measureOwnCodeCpu({ coupons: resolved.coupons, ratePerSecond: resolved.sendRatePerSecond });
    if (direct.sent !== resolved.coupons) throw new Error(`own-code run sent ${direct.sent} of ${resolved.coupons}`);
    const { stack, notify } = await stackRun(work, resolved, log);
    const poolSignMs = rsa.asyncSignMs * stack.callsPerCoupon.wechat;
    const inStackMsPerCoupon =
      stack.callsPerCoupon.wechat === 0
        ? undefined
        : poolSignMs + (stack.processCpuMsPerCoupon - poolSignMs) * stack.ownCodeShare;
    return {
      node: process.version,
      raw,
      rawUnthrottled,
      stack,
      throughputRatio: stack.perSecond / raw.perSecond,
      unthrottledRatio: stack.perSecond / rawUnthrottled.perSecond,
      unthrottledRatioCeiling: Math.min(1, resolved.sendRatePerSecond / rawUnthrottled.perSecond),
      rsa,
      ownCode: {
        inStackMsPerCoupon,
        directMsPerCoupon: direct.cpuMsPerCoupon,
        ratio: Math.max(inStackMsPerCoupon ?? 0, direct.cpuMsPerCoupon) / rsa.signPlusVerifyMs,
      },
      processCpuRatio: stack.processCpuMsPerCoupon / rsa.signPlusVerifyMs,
      rawCpuRatio: rawUnthrottled.processCpuMsPerCoupon / rsa.signPlusVerifyMs,
      notify,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const mark = (ok: boolean) => (ok ? "PASS" : "MISS");

export function formatEndToEndBench(r: EndToEndResult): string {
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  return [
    `end to end (node ${r.node}; simulator and AWS stand-ins in child processes, handlers in this one)`,
    "",
    `  raw client → simulator   ${r.raw.coupons} coupons, ${r.raw.concurrency} in flight, WeChat's rate limits: ${f1(r.raw.perSecond)} coupons/s (${f2(r.raw.seconds)} s, ${f2(r.raw.attemptsPerCoupon)} requests/coupon)`,
    `  raw client, no limits    ${f1(r.rawUnthrottled.perSecond)} coupons/s (${f2(r.rawUnthrottled.seconds)} s); client CPU ${f2(r.rawUnthrottled.processCpuMsPerCoupon)} ms/coupon, simulator CPU ${f2(r.rawUnthrottled.simulatorCpuMsPerCoupon)} ms/coupon`,
    `  local stack campaign     ${r.stack.coupons} openids, worker concurrency ${r.stack.workerConcurrency}, rate ${r.stack.ratePerSecond}/s, WeChat's rate limits: ${f1(r.stack.perSecond)} coupons/s (${f2(r.stack.seconds)} s, sent ${r.stack.sent}, failed ${r.stack.failed})`,
    `  throughput ratio         ${f2(r.throughputRatio)} (target ≥ ${THROUGHPUT_RATIO_TARGET}) ${mark(r.throughputRatio >= THROUGHPUT_RATIO_TARGET)}   [÷ the raw client with no limits: ${f2(r.unthrottledRatio)}, at most ${f2(r.unthrottledRatioCeiling)} at the stack's ${r.stack.ratePerSecond}/s]`,
    `  own code CPU / coupon    ${r.ownCode.inStackMsPerCoupon === undefined ? "not seen in the stack (the handlers run in the function hosts' worker threads, outside the main-thread profile)" : `${f2(r.ownCode.inStackMsPerCoupon)} ms in the stack (signing ${f2(r.rsa.asyncSignMs)} ms/request on the pool + main-thread profile share × the rest)`}, ${f2(r.ownCode.directMsPerCoupon)} ms directly (send worker core over in-memory ports)`,
    `                           larger ÷ (sign ${f2(r.rsa.signMs)} + verify ${f2(r.rsa.verifyMs)} ms) = ${f2(r.ownCode.ratio)} × (target ≤ ${CPU_RATIO_TARGET}×) ${mark(r.ownCode.ratio <= CPU_RATIO_TARGET)}`,
    `  service process CPU      ${f2(r.stack.processCpuMsPerCoupon)} ms/coupon = ${f2(r.processCpuRatio)} × (own code + AWS SDK + node http + GC + local gateway/poller glue + status polls; apart: simulator ${f2(r.stack.simulatorCpuMsPerCoupon)} ms, dynalite/fauxqs/secrets ${f2(r.stack.standInsCpuMsPerCoupon)} ms)`,
    `                           raw client process on the same scale: ${f2(r.rawUnthrottled.processCpuMsPerCoupon)} ms = ${f2(r.rawCpuRatio)} ×`,
    `  main thread (profile)    ${Object.entries(r.stack.cpuShareByCategory)
      .filter(([, share]) => share >= 0.005)
      .map(([k, share]) => `${k} ${(share * 100).toFixed(0)}%`)
      .join(", ")}`,
    `  requests per coupon      DynamoDB ${f2(r.stack.callsPerCoupon.dynamodb)}, SQS ${f2(r.stack.callsPerCoupon.sqs)}, WeChat ${f2(r.stack.callsPerCoupon.wechat)}, status polls ${f2(r.stack.callsPerCoupon.api)}, other ${f2(r.stack.callsPerCoupon.other)}`,
    `  AWS operations / coupon  ${Object.entries(r.stack.awsOperationsPerCoupon)
      .sort(([, a], [, b]) => b - a)
      .map(([op, n]) => `${op} ${f2(n)}`)
      .join(", ")}`,
    `  notify ack latency       ${r.notify.sequential} sequential: p50 ${f1(r.notify.p50Ms)} ms, p99 ${f1(r.notify.p99Ms)} ms, max ${f1(r.notify.maxMs)} ms (target p99 < ${NOTIFY_P99_TARGET_MS} ms) ${mark(r.notify.p99Ms < NOTIFY_P99_TARGET_MS)}`,
    `  notify throughput        ${r.notify.concurrent} at ${r.notify.concurrency} in flight: ${f1(r.notify.perSecond)} notifications/s (handler process CPU ${f2(r.notify.processCpuMsPerNotification)} ms, stand-ins ${f2(r.notify.standInsCpuMsPerNotification)} ms each; non-204 answers: ${r.notify.failures})`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const num = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const options: EndToEndOptions = { log: (line) => console.error(line) };
  for (const [flag, key] of [
    ["--coupons", "coupons"],
    ["--worker-concurrency", "workerConcurrency"],
    ["--raw-concurrency", "rawConcurrency"],
    ["--rate", "sendRatePerSecond"],
    ["--notify-sequential", "notifySequential"],
    ["--notify-concurrent", "notifyConcurrent"],
    ["--notify-concurrency", "notifyConcurrency"],
  ] as const) {
    const value = num(flag);
    if (value !== undefined) options[key] = value;
  }
  const result = await runEndToEndBench(options);
  console.log(process.argv.includes("--json") ? JSON.stringify(result, null, 2) : formatEndToEndBench(result));
}
