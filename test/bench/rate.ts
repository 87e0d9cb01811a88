/**
 * The merchant-wide send budget against a simulator that enforces a low merchant limit (100 sends/s, so this 2-core
 * machine is not the bottleneck), with the service's ceiling at that limit (`sendRatePerSecond` = 100):
 *
 *   npx tsx test/bench/rate.ts [--json]
 *
 * 1. interactive alone: POST /coupons at 5/s for 8 s, its latency without campaigns;
 * 2. at the limit: one campaign above the limit, the same interactive stream beside it; throughput (every accepted
 *    send, at the simulator) and the share of send attempts answered 429, from 10 s after the start until the
 *    campaign's backlog runs out;
 * 3. campaigns alone at the limit: the same without the interactive stream (the issue's figure as written);
 * 4. another sender: a raw signed client (this repository's WeChat Pay client, real HTTP, no 429 retries) sends at
 *    40 % of the limit, paced, beside a campaign: the service's accepted sends ÷ the remaining 60 %, and its 429 share.
 * The stack and the simulator run in this process, the AWS stand-ins in a child (test/bench/stand-ins.ts); the
 * simulator's counters are sampled every 20 ms (test/helpers/send-rate-meter.ts). Prints numbers, asserts nothing.
 * Beside the interactive latencies it prints where their time went (`timeApi`): waiting for one of the send-api's local
 * execution environments, INITs, the handler, what held the environments, and the CPU in use.
 */
import { cpus } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../helpers/local-stack-client.js";
import {
  interactiveStream,
  meterSimulator,
  quantile,
  rateCounterSeconds,
  type SecondTally,
} from "../helpers/send-rate-meter.js";
import { type ChildEmulators, forkEmulators } from "./stand-ins.js";

export const RATE_LIMIT_PER_SECOND = 100;
export const THROUGHPUT_TARGET = 0.97;
export const AT_LIMIT_429_TARGET = 0.001;
export const REMAINDER_TARGET = 0.9;
export const WITH_OTHER_429_TARGET = 0.005;
/**
 * Seconds left out at the start of each run, from the moment its POST /campaigns was answered (the campaign's sends
 * start then; the POST itself took from under a second to 12 s on this machine): the governor's warm-up.
 */
export const WARM_UP_SECONDS = 10;
const OTHER_SHARE = 0.4;
const INTERACTIVE_PER_SECOND = 5;
const RUN_SECONDS = 32;
export const WORKER_CONCURRENCY = 8;

export interface RateRun {
  /** Seconds measured (after the warm-up, before the backlog ran out). */
  seconds: number;
  /** Accepted sends per second by the service (campaign + interactive). */
  perSecond: number;
  /** The service's send attempts answered 429 ÷ its send attempts. */
  rateLimitedShare: number;
  attempts: number;
  /** Tokens the governor granted per second over the same seconds (the merchant's counter), interactive included. */
  grantedPerSecond: number;
  /** Of those, the interactive ones (POST /coupons): `perSecond` counts every send of the merchant, as WeChat does. */
  interactivePerSecond: number;
}

export interface RateBenchResult {
  limit: number;
  /** With the interactive stream (5/s) beside the campaign. */
  atLimit: RateRun;
  /** The campaign alone, nothing else sending. */
  atLimitAlone: RateRun;
  withOther: RateRun & { otherPerSecond: number; otherRateLimited: number; remainder: number };
  interactive: { alone: Latency; beside: Latency };
}

interface Latency {
  p50: number;
  p99: number;
  /** p50 / p99 ms of the sends started once the campaign's POST /campaigns had been answered. */
  afterPost?: Spread;
  sends: number;
  notOk: number;
  /** The statuses other than 200 (0: no answer). */
  notOkStatuses: number[];
  /** Where the time went (p50/p99 ms), see `timeApi`. */
  split: ApiTimes;
}

/** p50 / p99 in ms. */
export type Spread = [number, number];

export interface ApiTimes {
  /** The api function's invocations for POST /coupons: from the gateway's invoke to its answer. */
  invoke: Spread;
  /** The handler's own time in its execution environment (token, ledger, WeChat call). */
  handler: Spread;
  /** Waiting for a free execution environment under the local cap (Lambda would start one instead). */
  queued: Spread;
  /** Execution environments the send-api function (POST /coupons) started during the phase (cold starts). */
  coldStarts: number;
  /** The INIT durations (ms) POST /coupons invocations waited for (their environment was new). */
  inits: number[];
  /** The send-api function's local cap on execution environments. */
  environments: number;
  /** The most send-api invocations in flight at once (running, in INIT or waiting for an environment). */
  peakInFlight: number;
  /** What held the api's and send-api's environments: seconds of INIT and handler time per route during the phase. */
  held: { route: string; seconds: number }[];
  /** The main thread's event-loop delay (gateway and simulator run there; the stand-ins in their child). */
  loopDelay: Spread;
  /**
   * CPU in use during the phase, in cores (this machine has `cores`): the bench process (function hosts, gateway,
   * simulator), the stand-ins' child, and the whole machine (other work included); `whilePosting`: the whole machine's
   * while a POST /campaigns ran (the campaign's recipients written and queued, its first sends, environments starting).
   */
  cpu: { bench: number; standIns: number; machine: number; cores: number; whilePosting?: number };
}

export async function runRateBench(log: (line: string) => void = () => {}): Promise<RateBenchResult> {
  process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
  let standIns: ChildEmulators | undefined;
  const stack = await startTestStack({
    // The AWS stand-ins (dynalite, the SQS stand-in) in a child process, as the end-to-end part runs them: DynamoDB
    // and SQS are not on the service's cores in AWS, and in this process every table call of every function would
    // wait on the event loop that also runs the gateway and the simulator (README, "AWS behaviour → local stack").
    startEmulators: async (options) => {
      standIns = await forkEmulators(options);
      return standIns.emulators;
    },
    simulator: { sendRateLimitPerSecond: RATE_LIMIT_PER_SECOND },
    sendRatePerSecond: RATE_LIMIT_PER_SECOND,
    // Batches in flight: the template sizes the mapping for WeChat's ~150 ms per send (infra/settings.ts: 3 at
    // 100/s); on this machine a send through the local stand-ins takes longer, and the part measures the rate, not
    // the pipeline. The end-to-end part uses 8 too.
    workerConcurrency: WORKER_CONCURRENCY,
    log: () => {},
  });
  try {
    const stockId = await runningStock(stack, `RATE${Date.now()}`, { maxCoupons: 1_000_000 });
    const send = (tag: string) => async (i: number) =>
      (
        await callApi(stack, "POST", "/coupons", {
          stock_id: stockId,
          openid: `o-${tag}-${i}`,
          out_request_no: `${tag}-${i}`,
        })
      ).status;
    // Warm environments first: a cold start is not what is compared.
    const warm = interactiveStream(send("warm"), INTERACTIVE_PER_SECOND);
    await sleep(3_000);
    await warm.stop();
    log(`interactive alone: ${INTERACTIVE_PER_SECOND}/s for 8 s`);
    const aloneTimes = await timeApi(stack, standIns);
    const alone = interactiveStream(send("alone"), INTERACTIVE_PER_SECOND);
    await sleep(8_000);
    const aloneLatency = latency(await alone.stop(), await aloneTimes.stop());

    log(`at the limit: a campaign of ${RUN_SECONDS} s at ${RATE_LIMIT_PER_SECOND}/s, interactive sends beside it`);
    const besideTimes = await timeApi(stack, standIns);
    const beside = interactiveStream(send("beside"), INTERACTIVE_PER_SECOND);
    const atLimit = await campaignRun(stack, stockId, "a", RATE_LIMIT_PER_SECOND * RUN_SECONDS).finally(() =>
      beside.stop(),
    );
    const besideStream = await beside.stop();
    const besideLatency = {
      ...latency(besideStream, await besideTimes.stop()),
      afterPost: spread(besideStream.latencies.filter((l) => l.at >= atLimit.postedAt).map((l) => l.ms)),
    };
    const atLimitRun = measured(atLimit, { accepted: 0, rateLimited: 0 });
    log(perSecondLines(atLimit));

    log(
      `campaigns alone at the limit: a campaign of ${RUN_SECONDS} s at ${RATE_LIMIT_PER_SECOND}/s, nothing beside it`,
    );
    const campaignsAlone = await campaignRun(stack, stockId, "c", RATE_LIMIT_PER_SECOND * RUN_SECONDS);
    const atLimitAlone = measured(campaignsAlone, { accepted: 0, rateLimited: 0 });
    log(perSecondLines(campaignsAlone));

    log(`another sender at ${OTHER_SHARE * 100} % of the limit beside a campaign`);
    const other = await otherSender(stack, stockId, RATE_LIMIT_PER_SECOND * OTHER_SHARE);
    const withOther = await campaignRun(
      stack,
      stockId,
      "b",
      RATE_LIMIT_PER_SECOND * (1 - OTHER_SHARE) * RUN_SECONDS,
    ).finally(() => other.stop());
    const otherTally = await other.stop();
    const otherInWindow = otherTally.inWindow(
      withOther.startSecond + warmUpUntil(withOther),
      withOther.startSecond + withOther.busyUntil,
    );
    const ours = measured(withOther, otherInWindow);
    log(perSecondLines(withOther));
    const remainder = RATE_LIMIT_PER_SECOND * (1 - OTHER_SHARE);
    return {
      limit: RATE_LIMIT_PER_SECOND,
      atLimit: atLimitRun,
      atLimitAlone,
      withOther: {
        ...ours,
        otherPerSecond: otherInWindow.accepted / Math.max(1, ours.seconds),
        otherRateLimited: otherInWindow.rateLimited,
        remainder: ours.perSecond / remainder,
      },
      interactive: { alone: aloneLatency, beside: besideLatency },
    };
  } finally {
    await stack.stop();
  }
}

const spread = (values: number[]): Spread => [quantile(values, 0.5), quantile(values, 0.99)];

function latency(stream: { p50: number; p99: number; sends: number; statuses: number[] }, split: ApiTimes): Latency {
  return {
    p50: stream.p50,
    p99: stream.p99,
    sends: stream.sends,
    notOk: stream.statuses.filter((s) => s !== 200).length,
    notOkStatuses: stream.statuses.filter((s) => s !== 200),
    split,
  };
}

/**
 * Times POST /coupons inside the stack until `stop`: the send-api function host's invocations (waiting for a free
 * execution environment, a cold start, the handler) and the handler alone, the cold starts, and the main thread's
 * event-loop delay. Against the client's latency this splits an interactive send's time into: gateway and main
 * thread (client − invoke), function host (invoke − handler), and the handler (rate token, ledger, WeChat call).
 */
export async function timeApi(
  stack: LocalStack,
  standIns: ChildEmulators | undefined,
): Promise<{ stop(): Promise<ApiTimes> }> {
  // POST /coupons runs on the send-api function; the campaign routes on api (shared/edges/http/routes.ts). The send's
  // split is the send-api host's; what held environments is counted on both.
  const host = stack.functions["send-api"]!;
  const hosts = [stack.functions.api!, host];
  const invokes = hosts.map((h) => h.invoke);
  const invokeMs: number[] = [];
  const handlerMs: number[] = [];
  const queuedMs: number[] = [];
  const inits: number[] = [];
  const held = new Map<string, number>();
  let peakInFlight = 0;
  const postingCores: number[] = [];
  const coldStarts = host.coldStarts;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpuAt = async () => ({
    wall: performance.now(),
    bench: process.cpuUsage(),
    standIns: (await standIns?.child.cpuMs()) ?? 0,
    machine: machineBusyMs(),
  });
  const from = await cpuAt();
  hosts.forEach((wrapped, i) => {
    const invoke = invokes[i]!;
    wrapped.invoke = async (event) => {
      const started = performance.now();
      const http = (event as { requestContext?: { http?: { method?: string; path?: string } } }).requestContext?.http;
      const posting = http?.method === "POST" && http.path === "/campaigns" ? machineBusyMs() : undefined;
      const invocation = invoke(event);
      if (wrapped === host) peakInFlight = Math.max(peakInFlight, host.inFlight);
      const result = await invocation;
      if (posting !== undefined) postingCores.push((machineBusyMs() - posting) / (performance.now() - started));
      if (result.ok) {
        const route = `${http?.method} ${http?.path?.replace(/^\/campaigns\/[^/]+/, "/campaigns/{id}")}`;
        held.set(route, (held.get(route) ?? 0) + result.durationMs + (result.initDurationMs ?? 0));
      }
      if (result.ok && wrapped === host) {
        invokeMs.push(performance.now() - started);
        handlerMs.push(result.durationMs);
        queuedMs.push(result.queuedMs);
        if (result.initDurationMs !== undefined) inits.push(result.initDurationMs);
      }
      return result;
    };
  });
  return {
    async stop() {
      hosts.forEach((h, i) => {
        h.invoke = invokes[i]!;
      });
      loop.disable();
      const to = await cpuAt();
      const wall = to.wall - from.wall;
      const bench = process.cpuUsage(from.bench);
      return {
        invoke: spread(invokeMs),
        handler: spread(handlerMs),
        queued: spread(queuedMs),
        coldStarts: host.coldStarts - coldStarts,
        inits,
        peakInFlight,
        environments: host.maxEnvironments,
        held: [...held].sort((a, b) => b[1] - a[1]).map(([route, ms]) => ({ route, seconds: ms / 1000 })),
        loopDelay: [loop.percentile(50) / 1e6, loop.percentile(99) / 1e6],
        cpu: {
          bench: (bench.user + bench.system) / 1000 / wall,
          standIns: (to.standIns - from.standIns) / wall,
          machine: (to.machine - from.machine) / wall,
          ...(postingCores.length > 0 ? { whilePosting: Math.max(...postingCores) } : {}),
          cores: cpus().length,
        },
      };
    },
  };
}

/** CPU time (ms) every core of this machine has spent busy since boot, whatever ran on it. */
function machineBusyMs(): number {
  return cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);
}

type CampaignRun = Awaited<ReturnType<typeof campaignRun>>;

/** The first second of a run measured (index into its seconds): WARM_UP_SECONDS after its POST was answered. */
function warmUpUntil(run: CampaignRun): number {
  return Math.floor(run.postedAt / 1000) - run.startSecond + WARM_UP_SECONDS;
}

/** The seconds from the warm-up until `busyUntil` (exclusive), less what the other sender did in them. */
function measured(run: CampaignRun, other: { accepted: number; rateLimited: number }): RateRun {
  const window = run.seconds.slice(warmUpUntil(run), run.busyUntil);
  const accepted = window.reduce((s, b) => s + b.accepted, 0) - other.accepted;
  const rateLimited = window.reduce((s, b) => s + b.rateLimited, 0) - other.rateLimited;
  const attempts = accepted + rateLimited;
  const tokens = run.tokens.slice(warmUpUntil(run), run.busyUntil);
  const granted = tokens.reduce((s, t) => s + (t.usage?.total ?? 0), 0);
  const interactive = tokens.reduce((s, t) => s + (t.usage?.interactive ?? 0), 0);
  return {
    seconds: window.length,
    perSecond: accepted / Math.max(1, window.length),
    rateLimitedShare: rateLimited / Math.max(1, attempts),
    attempts,
    grantedPerSecond: granted / Math.max(1, window.length),
    interactivePerSecond: interactive / Math.max(1, window.length),
  };
}

/**
 * Where the throughput goes, second by second: tokens the campaign's workers asked for (each waiting send once a
 * second: below the budget, the pipeline did not bring more sends to the governor), tokens the governor granted
 * (interactive ones in brackets), and the sends the simulator accepted and answered 429 (a sample lands in the second
 * it was taken in: ±20 ms at the edges). Granted above accepted: tokens whose sends missed their second.
 */
function perSecondLines(run: CampaignRun): string {
  const cells = run.seconds.map((s, i) => {
    const usage = run.tokens[i]?.usage;
    const asked = [...(usage?.campaigns.values() ?? [])].reduce((sum, c) => sum + c.asked, 0);
    return `${i}:${asked}/${usage?.total ?? 0}(${usage?.interactive ?? 0})/${s.accepted}${s.rateLimited > 0 ? `/429×${s.rateLimited}` : ""}`;
  });
  return `per second, asked/granted(interactive)/accepted: ${cells.join(" ")}`;
}

/**
 * Posts one campaign (rate_per_second above the limit) and meters the simulator until it completes; `busyUntil` is
 * the first second in which the campaign's backlog ran out (fewer than 10 sends left to go at its start).
 */
async function campaignRun(stack: LocalStack, stockId: string, tag: string, recipients: number) {
  const openids = Array.from({ length: recipients }, (_, i) => `o-${tag}-campaign-${i}`);
  const startSecond = Math.floor(Date.now() / 1000);
  const meter = meterSimulator(() => stack.simulator.stats());
  let busyUntil: number | undefined;
  let postedAt = Number.POSITIVE_INFINITY;
  let seconds: SecondTally[];
  try {
    // With its own campaign_id, so that a POST this machine answers late (5xx) is posted again and replays.
    const body = { stock_id: stockId, openids, rate_per_second: 500, campaign_id: `bench-rate-${tag}-${Date.now()}` };
    let posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", body);
    for (let retry = 0; retry < 3 && posted.status >= 500; retry++)
      posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", body);
    if (posted.status !== 202) throw new Error(`POST /campaigns: ${posted.status} ${JSON.stringify(posted.body)}`);
    postedAt = Date.now();
    const deadline = Date.now() + recipients * 100 + 60_000;
    for (;;) {
      const view = await callApi<{ state: string; sent: number; failed: number; total: number }>(
        stack,
        "GET",
        `/campaigns/${posted.body.campaign_id}`,
      );
      const left = view.body.total - view.body.sent - view.body.failed;
      if (busyUntil === undefined && left < RATE_LIMIT_PER_SECOND)
        busyUntil = Math.floor(Date.now() / 1000) - startSecond;
      if (view.body.state === "COMPLETED" || Date.now() > deadline) break;
      // Once a second: the status read takes an api execution environment, which the interactive sends beside need.
      await sleep(1_000);
    }
  } finally {
    seconds = await meter.stop();
  }
  const tokens = await rateCounterSeconds(stack, startSecond, startSecond + seconds.length);
  return { seconds, tokens, busyUntil: busyUntil ?? seconds.length, startSecond, postedAt };
}

/** A raw signed client sending at `perSecond`, paced evenly, each send once (a 429 is counted, not retried). */
async function otherSender(stack: LocalStack, stockId: string, perSecond: number) {
  const { createWechatPayClient } = await import("#shared/wechatpay/client.js");
  const { WechatPayApiError } = await import("#shared/wechatpay/errors.js");
  const config = stack.simulator.config;
  const client = createWechatPayClient({
    mchid: config.mchid,
    merchantSerialNo: config.merchant_serial_no,
    merchantPrivateKey: config.keys.merchantPrivateKeyPem,
    apiv3Key: config.apiv3_key,
    wechatpayPublicKey: { id: config.wechatpay_public_key_id, pem: config.keys.wechatpayPublicKeyPem },
    baseUrl: stack.simulatorUrl,
    retryRateLimited: false,
  });
  const events: { at: number; ok: boolean }[] = [];
  const stream = interactiveStream(async (i) => {
    try {
      await client.coupons.send(`o-other-${i}`, {
        stock_id: stockId,
        out_request_no: `other-${i}`,
        appid: config.appid,
      });
      events.push({ at: Date.now(), ok: true });
      return 200;
    } catch (error) {
      const rateLimited = error instanceof WechatPayApiError && error.statusCode === 429;
      events.push({ at: Date.now(), ok: false });
      return rateLimited ? 429 : 0;
    }
  }, perSecond);
  return {
    async stop() {
      await stream.stop();
      return {
        /** Sends answered within [from, to) epoch seconds. */
        inWindow(from: number, to: number) {
          const inside = events.filter((e) => e.at >= from * 1000 && e.at < to * 1000);
          return { accepted: inside.filter((e) => e.ok).length, rateLimited: inside.filter((e) => !e.ok).length };
        },
      };
    },
  };
}

export function formatRateBench(r: RateBenchResult): string {
  const pct = (n: number, digits = 1) => `${(n * 100).toFixed(digits)} %`;
  return [
    `merchant send budget against a simulator limit of ${r.limit}/s, ceiling at the limit`,
    `  at the limit, campaigns alone: ${r.atLimitAlone.perSecond.toFixed(1)} sends/s = ${pct(r.atLimitAlone.perSecond / r.limit)} of the limit over ${r.atLimitAlone.seconds} s (tokens granted ${r.atLimitAlone.grantedPerSecond.toFixed(1)}/s); 429s ${pct(r.atLimitAlone.rateLimitedShare, 2)} of ${r.atLimitAlone.attempts} attempts`,
    `  at the limit, interactive 5/s beside: ${r.atLimit.perSecond.toFixed(1)} sends/s = ${pct(r.atLimit.perSecond / r.limit)} of the limit over ${r.atLimit.seconds} s, every send of the merchant counted as WeChat counts them (tokens granted ${r.atLimit.grantedPerSecond.toFixed(1)}/s, of which ${r.atLimit.interactivePerSecond.toFixed(1)}/s interactive: campaign sends alone ${pct((r.atLimit.perSecond - r.atLimit.interactivePerSecond) / r.limit)} of the limit); 429s ${pct(r.atLimit.rateLimitedShare, 2)} of ${r.atLimit.attempts} attempts`,
    `  another sender at 40 %: it got ${r.withOther.otherPerSecond.toFixed(1)}/s (${r.withOther.otherRateLimited} of its sends 429); the service ${r.withOther.perSecond.toFixed(1)}/s = ${pct(r.withOther.remainder)} of the remaining 60 % (tokens granted ${r.withOther.grantedPerSecond.toFixed(1)}/s); 429s ${pct(r.withOther.rateLimitedShare, 2)} of ${r.withOther.attempts} attempts`,
    `  interactive POST /coupons (5/s): alone p50 ${r.interactive.alone.p50.toFixed(0)} ms p99 ${r.interactive.alone.p99.toFixed(0)} ms; beside a campaign p50 ${r.interactive.beside.p50.toFixed(0)} ms p99 ${r.interactive.beside.p99.toFixed(0)} ms (not 200: ${r.interactive.alone.notOk + r.interactive.beside.notOk}${r.interactive.beside.notOk > 0 ? `, beside: ${r.interactive.beside.notOkStatuses.join(" ")}` : ""})`,
    ...(["alone", "beside"] as const).map((phase) => {
      const { split } = r.interactive[phase];
      const ms = ([p50, p99]: Spread) => `${p50.toFixed(0)}/${p99.toFixed(0)}`;
      const after = r.interactive[phase].afterPost;
      const inits = split.inits.length > 0 ? ` (INIT ${split.inits.map((i) => i.toFixed(0)).join(", ")} ms)` : "";
      return `    ${phase}, p50/p99 ms: send-api invocation ${ms(split.invoke)}, of which waiting for an environment ${ms(split.queued)}, handler ${ms(split.handler)}; cold starts ${split.coldStarts}, of which POST /coupons waited for ${split.inits.length}${inits}; send-api invocations in flight at most ${split.peakInFlight} (${split.environments} environments at most), environments held (s): ${split.held.map((h) => `${h.route} ${h.seconds.toFixed(1)}`).join(", ")}; main-thread event-loop delay ${ms(split.loopDelay)}; CPU in use ${split.cpu.machine.toFixed(2)} of ${split.cpu.cores} cores (bench process ${split.cpu.bench.toFixed(2)}, stand-ins ${split.cpu.standIns.toFixed(2)}${split.cpu.whilePosting === undefined ? "" : `; ${split.cpu.whilePosting.toFixed(2)} while POST /campaigns ran`})${after ? `; sends started after POST /campaigns was answered ${ms(after)}` : ""}`;
    }),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runRateBench((line) => console.log(`  … ${line}`));
  console.log(process.argv.includes("--json") ? JSON.stringify(result, null, 2) : formatRateBench(result));
}
