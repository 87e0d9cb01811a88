import { describe, expect, it } from "vitest";
import { attribute } from "../../bench/cpu-profile.js";

const repo = new URL("../../../", import.meta.url).href;
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url },
  children,
});

describe("CPU profile attribution", () => {
  // root → processSendBatch (shared/) → sign (node:internal/crypto) → native sign
  //      → send (@smithy) → native writev;  GC;  idle
  const profile = {
    nodes: [
      frame(1, "(root)", "", [2, 5, 7, 8, 9]),
      frame(2, "processSendBatch", `${repo}shared/domain/campaigns/process-send-batch.ts`, [3]),
      frame(3, "signOneShot", "node:internal/crypto/sig", [4]),
      frame(4, "sign", ""),
      frame(5, "send", "file:///x/node_modules/@smithy/core/dist-cjs/index.js", [6]),
      frame(6, "writev", ""),
      frame(7, "(garbage collector)", ""),
      frame(8, "(idle)", ""),
      frame(9, "handle", `${repo}local/stack/gateway.ts`),
    ],
    samples: [2, 4, 4, 6, 7, 8, 9],
    timeDeltas: [1000, 2000, 2000, 3000, 500, 9000, 250],
  };

  it("charges native frames to their nearest scripted caller and leaves idle out", () => {
    const ms = attribute(profile);
    expect(ms["service code"]).toBe(1);
    expect(ms["node:crypto"]).toBe(4);
    expect(ms["AWS SDK"]).toBe(3);
    expect(ms.GC).toBe(0.5);
    expect(ms["local gateway/poller"]).toBe(0.25);
    expect(Object.values(ms).reduce((a, b) => a + b, 0)).toBe(8.75);
  });
});
