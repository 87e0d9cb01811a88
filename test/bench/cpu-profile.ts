/**
 * Where a process's CPU goes: a V8 sampling profile of this process (node:inspector), each sample charged to the
 * category of the frame it landed in. Native frames (no script URL: OpenSSL signing, JSON, zlib) are charged to the
 * nearest caller that has one, so an RSA sign made by node:crypto counts as "node:crypto", not "native".
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export const CPU_CATEGORIES = [
  "service code",
  "node:crypto",
  "AWS SDK",
  "fetch (undici)",
  "node http/net/streams",
  "other libraries",
  "local gateway/poller",
  "GC",
  "other",
] as const;
export type CpuCategory = (typeof CPU_CATEGORIES)[number];

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

function categoryOf(url: string, functionName: string): CpuCategory | undefined {
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)") return undefined;
  if (url === "") return undefined; // native: charged to its caller
  if (AWS_SDK.test(url)) return "AWS SDK";
  if (url.includes("/node_modules/")) return "other libraries";
  if (url.startsWith("node:internal/deps/undici")) return "fetch (undici)";
  if (url.startsWith("node:internal/crypto") || url === "node:crypto") return "node:crypto";
  if (/^node:(_http|http|https|net|internal\/(http|net|stream|streams|dns)|internal\/webstreams|stream)/.test(url))
    return "node http/net/streams";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  if (path.startsWith(`${REPO_ROOT}shared/`) || path.startsWith(`${REPO_ROOT}functions/`)) return "service code";
  if (path.startsWith(`${REPO_ROOT}local/`)) return "local gateway/poller";
  return "other";
}

/** Milliseconds of CPU by category (idle excluded). */
export function attribute(profile: Profile): Record<CpuCategory, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, CpuCategory | null>();
  const resolve = (id: number): CpuCategory | null => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const { url, functionName } = node.callFrame;
    let category: CpuCategory | null;
    if (functionName === "(idle)") category = null;
    else if (functionName === "(program)") category = "other";
    else {
      const own = categoryOf(url, functionName);
      const up = parent.get(id);
      category = own ?? (up === undefined || byId.get(up)!.callFrame.functionName === "(root)" ? "other" : resolve(up));
    }
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
