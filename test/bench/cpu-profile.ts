/**
 * Where a process's main thread spends its time: a V8 sampling profile (node:inspector, wall time), each sample charged to the owner
 * of the frame it landed in. Native frames (no script URL: JSON, OpenSSL) and node's own modules other than its HTTP
 * stack are charged to the nearest caller that has an owner, so a verify made through node:crypto by the WeChat client
 * counts as the service's, and the HMACs of the AWS SDK's SigV4 as the SDK's. The profiler's own frames are left out,
 * like idle time.
 *
 * The profiler samples the main thread only, in wall time. The WeChat client signs on libuv's pool
 * (`signMessageAsync`): the main thread only hands the job over, and its samples there are mostly the main thread
 * pre-empted by the pool thread it has just woken. Those samples are kept apart ("async sign hand-off", out of every
 * share); the caller adds the CPU of a whole `signMessageAsync` (sign and hand-off, measured) per request instead.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import { signMessageAsync } from "#shared/wechatpay/crypto/rsa-sha256.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const CPU_CATEGORIES = [
  "service code",
  "service code → node:crypto",
  "libraries it calls",
  "AWS SDK",
  "node http/net/streams",
  "fetch (undici)",
  "local gateway/poller",
  "bench harness",
  "GC",
  "runtime",
  "async sign hand-off",
] as const;
export type CpuCategory = (typeof CPU_CATEGORIES)[number];

/** The service's own code: what the CPU target is about. */
const OWN: readonly CpuCategory[] = ["service code", "service code → node:crypto", "libraries it calls"];
/** Shared by everything that runs (collection, the microtask loop, timers): apportioned, not owned. */
const SHARED: readonly CpuCategory[] = ["GC", "runtime"];
/** Main-thread samples that stand for work done elsewhere: in no share. */
const ELSEWHERE: readonly CpuCategory[] = ["async sign hand-off"];
const ASYNC_SIGN = {
  name: signMessageAsync.name,
  url: new URL("../../shared/wechatpay/crypto/rsa-sha256.ts", import.meta.url).href,
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

const AWS_SDK = /\/node_modules\/(@aws-sdk|@smithy|@aws-crypto|fast-xml-parser|strnum|tslib|uuid|bowser)\//;
const NODE_HTTP = /^node:(_http|http|https|net|internal\/(http|net|stream|streams|dns)|internal\/webstreams|stream)/;
const NODE_STREAMS = /^node:(stream|internal\/streams|internal\/webstreams)/;
const NODE_CRYPTO = /^node:(crypto$|internal\/crypto)/;

type Owner = CpuCategory | "crypto" | "profiler" | "idle" | undefined;

/** The frame's own owner; undefined when it is charged to its caller. */
function ownerOf(url: string, functionName: string): Owner {
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)") return "runtime";
  if (url === "node:inspector" || url.startsWith("node:internal/inspector")) return "profiler";
  if (url === "") return undefined;
  if (AWS_SDK.test(url)) return "AWS SDK";
  if (url.includes("/node_modules/")) return "libraries it calls";
  if (url.startsWith("node:internal/deps/undici")) return "fetch (undici)";
  if (NODE_HTTP.test(url)) return "node http/net/streams";
  if (NODE_CRYPTO.test(url)) return "crypto";
  if (url.startsWith("node:")) return undefined;
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (path.startsWith(`${REPO_ROOT}shared/`) || path.startsWith(`${REPO_ROOT}functions/`)) return "service code";
  if (path.startsWith(`${REPO_ROOT}local/`)) return "local gateway/poller";
  if (path.startsWith(`${REPO_ROOT}test/`)) return "bench harness";
  return undefined;
}

/** Milliseconds of CPU by category (idle and the profiler's own frames excluded). */
export function attribute(profile: Profile): Record<CpuCategory, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, CpuCategory | null>();
  // The caller's category, or "runtime" at the root (the microtask loop, timers).
  const ofCaller = (id: number): CpuCategory | null => {
    const up = parent.get(id);
    return up === undefined || byId.get(up)!.callFrame.functionName === "(root)" ? "runtime" : resolve(up);
  };
  // A crypto frame inside signMessageAsync: the job goes to libuv's pool.
  const isAsyncSign = (id: number): boolean => {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const { url, functionName } = byId.get(up)!.callFrame;
      if (url === "" || url.startsWith("node:")) continue;
      if (url !== ASYNC_SIGN.url) return false;
      if (functionName === ASYNC_SIGN.name) return true;
    }
    return false;
  };
  const resolve = (id: number): CpuCategory | null => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const { url, functionName } = byId.get(id)!.callFrame;
    const owner = ownerOf(url, functionName);
    let category: CpuCategory | null;
    if (owner === "idle" || owner === "profiler") category = null;
    else if (owner === "crypto") {
      const caller = isAsyncSign(id) ? "async sign hand-off" : ofCaller(id);
      category = caller === "service code" ? "service code → node:crypto" : caller;
    } else if (owner === "node http/net/streams" && NODE_STREAMS.test(url)) {
      // Sign, Verify and Hash are streams: stream code under a crypto call is the crypto call's.
      const crypto = cryptoAbove(id);
      category = crypto === undefined ? owner : resolve(crypto);
    } else category = owner ?? ofCaller(id);
    cache.set(id, category);
    return category;
  };
  // The crypto frame a stream frame runs for: the first ancestor that is neither native nor stream code.
  const cryptoAbove = (id: number): number | undefined => {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const { url } = byId.get(up)!.callFrame;
      if (url === "" || NODE_STREAMS.test(url)) continue;
      return NODE_CRYPTO.test(url) ? up : undefined;
    }
    return undefined;
  };
  const totals = Object.fromEntries(CPU_CATEGORIES.map((c) => [c, 0])) as Record<CpuCategory, number>;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; charge it to sample i (V8's own convention).
  for (let i = 0; i < samples.length; i++) {
    const category = resolve(samples[i]!);
    if (category) totals[category] += (deltas[i] ?? 0) / 1000;
  }
  return totals;
}

/**
 * The own code's share of the main thread's CPU: its samples ÷ every sample that has an owner, GC and the runtime
 * being split in proportion (the service's code pays for its allocations and its awaits like everything else does),
 * the async sign hand-off left out (its CPU is the pool's).
 */
export function ownCodeShare(ms: Record<CpuCategory, number>): number {
  const sum = (categories: readonly CpuCategory[]) => categories.reduce((n, c) => n + ms[c], 0);
  const owned = sum(CPU_CATEGORIES.filter((c) => !SHARED.includes(c) && !ELSEWHERE.includes(c)));
  return owned > 0 ? sum(OWN) / owned : 0;
}

/** Starts sampling this process; `stop()` returns milliseconds by category. */
export async function profileCpu(samplingIntervalUs = 250): Promise<{ stop(): Promise<Record<CpuCategory, number>> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
  await session.post("Profiler.start");
  return {
    async stop() {
      const { profile } = (await session.post("Profiler.stop")) as { profile: Profile };
      await session.post("Profiler.disable");
      session.disconnect();
      // CPU_PROFILE_OUT=file.cpuprofile keeps the raw profile for Chrome DevTools.
      if (process.env.CPU_PROFILE_OUT) writeFileSync(process.env.CPU_PROFILE_OUT, JSON.stringify(profile));
      return attribute(profile);
    },
  };
}
