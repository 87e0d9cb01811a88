/**
 * Where a process's CPU goes: a V8 sampling profile of this process (node:inspector), each sample charged to the owner
 * of the frame it landed in. Native frames (no script URL: OpenSSL signing, JSON, zlib) and node's own modules other
 * than its HTTP stack are charged to the nearest caller that has an owner, so an RSA sign made through node:crypto by
 * the WeChat client counts as the service's, and the HMACs of the AWS SDK's SigV4 as the SDK's. The profiler's own
 * frames are left out, like idle time.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";

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
] as const;
export type CpuCategory = (typeof CPU_CATEGORIES)[number];

/** The service's own code: what the CPU target is about. */
const OWN: readonly CpuCategory[] = ["service code", "service code → node:crypto", "libraries it calls"];
/** Shared by everything that runs (collection, the microtask loop, timers): apportioned, not owned. */
const SHARED: readonly CpuCategory[] = ["GC", "runtime"];

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
  return "runtime";
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
  const resolve = (id: number): CpuCategory | null => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const { url, functionName } = byId.get(id)!.callFrame;
    const owner = ownerOf(url, functionName);
    let category: CpuCategory | null;
    if (owner === "idle" || owner === "profiler") category = null;
    else if (owner === "crypto") {
      const caller = ofCaller(id);
      category = caller === "service code" ? "service code → node:crypto" : caller;
    } else category = owner ?? ofCaller(id);
    cache.set(id, category);
    return category;
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
 * The own code's share of the process's CPU: its samples ÷ every sample that has an owner, GC and the runtime being
 * split in proportion (the service's code pays for its allocations and its awaits like everything else does).
 */
export function ownCodeShare(ms: Record<CpuCategory, number>): number {
  const sum = (categories: readonly CpuCategory[]) => categories.reduce((n, c) => n + ms[c], 0);
  const owned = sum(CPU_CATEGORIES.filter((c) => !SHARED.includes(c)));
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
