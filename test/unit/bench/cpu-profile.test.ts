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
  //                                     → Verify (node:internal/crypto) → Writable (node:internal/streams) → native
  //      → send (@smithy) → Hmac (node:internal/crypto) → native digest
  //                       → writev (native)
  //      → signMessageAsync (shared/…/rsa-sha256.ts) → executor (same file) → signOneShot → native run
  //      → processTicksAndRejections (node:internal) → native
  //      → socketOnData (node:_http_client) → emit (node:events) ; → llhttp (wasm://)
  //      → safeParse (node_modules/zod) ;  post (node:inspector) ;  poll (test/bench) ;  GC ;  idle ;  gateway (local/)
  //      → handler (functions/)
  const rsa = `${repo}shared/wechatpay/crypto/rsa-sha256.ts`;
  const profile = {
    nodes: [
      frame(1, "(root)", "", [2, 5, 9, 11, 13, 14, 15, 16, 17, 18, 21, 30]),
      frame(2, "processSendBatch", `${repo}shared/domain/campaigns/process-send-batch.ts`, [3, 20, 25]),
      frame(3, "signOneShot", "node:internal/crypto/sig", [4]),
      frame(4, "sign", ""),
      frame(5, "send", "file:///x/node_modules/@smithy/core/dist-cjs/index.js", [6, 8]),
      frame(6, "Hmac", "node:internal/crypto/hash", [7]),
      frame(7, "digest", ""),
      frame(8, "writev", ""),
      frame(9, "processTicksAndRejections", "node:internal/process/task_queues", [10]),
      frame(10, "runMicrotasks", ""),
      frame(11, "socketOnData", "node:_http_client", [12, 29]),
      frame(12, "emit", "node:events"),
      frame(13, "safeParse", "file:///x/node_modules/zod/v4/core/schemas.js"),
      frame(14, "post", "node:inspector"),
      frame(15, "poll", `${repo}test/bench/end-to-end.ts`),
      frame(16, "(garbage collector)", ""),
      frame(17, "(idle)", ""),
      frame(18, "handle", `${repo}local/stack/http-gateway.ts`),
      frame(20, "stringify", ""),
      frame(21, "signMessageAsync", rsa, [22]),
      frame(22, "", rsa, [23]),
      frame(23, "signOneShot", "node:internal/crypto/sig", [24]),
      frame(24, "run", ""),
      frame(25, "Verify", "node:internal/crypto/sig", [26]),
      frame(26, "Writable", "node:internal/streams/writable", [27]),
      frame(27, "Stream", "node:internal/streams/legacy"),
      frame(29, "llhttp_execute", "wasm://wasm/00a1b2c3"),
      frame(30, "handler", `${repo}functions/send-worker.ts`),
    ],
    samples: [2, 4, 4, 20, 7, 8, 10, 12, 13, 14, 15, 16, 17, 18, 24, 27, 29, 30],
    timeDeltas: [1000, 2000, 2000, 500, 1500, 3000, 700, 800, 300, 5000, 100, 600, 9000, 250, 4000, 200, 150, 50],
  };

  it("charges native frames and node's own modules to their caller, and leaves idle and the profiler out", () => {
    const ms = attribute(profile);
    expect(ms["service code"]).toBeCloseTo(1.55, 10); // its frames (shared/, functions/) and the JSON.stringify it called
    expect(ms["service code → node:crypto"]).toBeCloseTo(4.2, 10); // the RSA sign it made, and a Verify's stream set-up
    expect(ms["AWS SDK"]).toBeCloseTo(4.5, 10); // its HMAC and its write
    expect(ms.runtime).toBeCloseTo(0.7, 10); // the microtask loop at the root
    expect(ms["node http/net/streams"]).toBeCloseTo(0.95, 10); // an event emitted by node's HTTP client, its wasm parser
    expect(ms["libraries it calls"]).toBeCloseTo(0.3, 10);
    expect(ms["bench harness"]).toBeCloseTo(0.1, 10);
    expect(ms.GC).toBeCloseTo(0.6, 10);
    expect(ms["local gateway/poller"]).toBeCloseTo(0.25, 10);
    expect(ms["async sign hand-off"]).toBeCloseTo(4, 10); // signMessageAsync's job: the pool signs, not the main thread
    expect(Object.values(ms).reduce((a, b) => a + b, 0)).toBeCloseTo(17.15, 10); // without idle (9) and profiler (5)
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
    ms["async sign hand-off"] = 5;
    expect(ownCodeShare(ms)).toBe(0.4); // main-thread samples of work done on the pool are in no share
    expect(ownCodeShare(Object.fromEntries(CPU_CATEGORIES.map((c) => [c, 0])) as Record<CpuCategory, number>)).toBe(0);
  });
});
