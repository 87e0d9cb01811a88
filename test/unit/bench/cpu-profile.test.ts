import { describe, expect, it } from "vitest";
import { attribute, CPU_CATEGORIES, type CpuCategory, ownCodeShare } from "../../bench/cpu-profile.js";

const repo = new URL("../../../", import.meta.url).href;
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url },
  children,
});

describe("CPU profile attribution", () => {
  // root → processSendBatch (shared/) → signOneShot (node:internal/crypto) → native sign
  //                                     → JSON.stringify (native)
  //      → send (@smithy) → Hmac (node:internal/crypto) → native digest
  //                       → writev (native)
  //      → processTicksAndRejections (node:internal) → native
  //      → socketOnData (node:_http_client) → emit (node:events)
  //      → safeParse (node_modules/zod) ;  post (node:inspector) ;  poll (test/bench) ;  GC ;  idle ;  gateway (local/)
  const profile = {
    nodes: [
      frame(1, "(root)", "", [2, 5, 9, 11, 13, 14, 15, 16, 17, 18]),
      frame(2, "processSendBatch", `${repo}shared/domain/campaigns/process-send-batch.ts`, [3, 20]),
      frame(3, "signOneShot", "node:internal/crypto/sig", [4]),
      frame(4, "sign", ""),
      frame(5, "send", "file:///x/node_modules/@smithy/core/dist-cjs/index.js", [6, 8]),
      frame(6, "Hmac", "node:internal/crypto/hash", [7]),
      frame(7, "digest", ""),
      frame(8, "writev", ""),
      frame(9, "processTicksAndRejections", "node:internal/process/task_queues", [10]),
      frame(10, "runMicrotasks", ""),
      frame(11, "socketOnData", "node:_http_client", [12]),
      frame(12, "emit", "node:events"),
      frame(13, "safeParse", "file:///x/node_modules/zod/v4/core/schemas.js"),
      frame(14, "post", "node:inspector"),
      frame(15, "poll", `${repo}test/bench/end-to-end.ts`),
      frame(16, "(garbage collector)", ""),
      frame(17, "(idle)", ""),
      frame(18, "handle", `${repo}local/stack/http-gateway.ts`),
      frame(20, "stringify", ""),
    ],
    samples: [2, 4, 4, 20, 7, 8, 10, 12, 13, 14, 15, 16, 17, 18],
    timeDeltas: [1000, 2000, 2000, 500, 1500, 3000, 700, 800, 300, 5000, 100, 600, 9000, 250],
  };

  it("charges native frames and node's own modules to their caller, and leaves idle and the profiler out", () => {
    const ms = attribute(profile);
    expect(ms["service code"]).toBe(1.5); // its own frame and the JSON.stringify it called
    expect(ms["service code → node:crypto"]).toBe(4); // the RSA sign it made
    expect(ms["AWS SDK"]).toBe(4.5); // its HMAC and its write
    expect(ms.runtime).toBe(0.7); // the microtask loop at the root
    expect(ms["node http/net/streams"]).toBe(0.8); // an event emitted by node's HTTP client
    expect(ms["libraries it calls"]).toBe(0.3);
    expect(ms["bench harness"]).toBe(0.1);
    expect(ms.GC).toBe(0.6);
    expect(ms["local gateway/poller"]).toBe(0.25);
    expect(Object.values(ms).reduce((a, b) => a + b, 0)).toBeCloseTo(12.75, 10); // without idle (9) and profiler (5)
  });

  it("gives the own code its samples' share of everything owned, GC and the runtime split in proportion", () => {
    const ms = Object.fromEntries(CPU_CATEGORIES.map((c) => [c, 0])) as Record<CpuCategory, number>;
    Object.assign(ms, {
      "service code": 1,
      "service code → node:crypto": 2,
      "libraries it calls": 1,
      "AWS SDK": 4,
      "node http/net/streams": 2,
      GC: 3,
      runtime: 1,
    });
    expect(ownCodeShare(ms)).toBe(0.4); // 4 of the 10 owned; GC and runtime leave the proportion as it is
    expect(ownCodeShare(Object.fromEntries(CPU_CATEGORIES.map((c) => [c, 0])) as Record<CpuCategory, number>)).toBe(0);
  });
});
