import type { SimulatorStats } from "#local/simulator/types.js";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbRateCounter } from "#shared/adapters/dynamodb/dynamodb-rate-counter.js";
import { merchantScope, type RateUsage } from "#shared/domain/rate/rate-governor.js";

/** Send attempts WeChat (the simulator) saw in one wall-clock second: accepted, and refused with 429. */
export interface SecondTally {
  second: number;
  accepted: number;
  rateLimited: number;
}

/**
 * Samples the simulator's counters every `intervalMs` and buckets their growth per wall-clock second, as the
 * simulator's own one-second windows are (local/simulator/rate-limit.ts). A sample lands in the second it was taken
 * in, so a bucket may hold up to `intervalMs` of the previous second.
 */
export function meterSimulator(stats: () => SimulatorStats | Promise<SimulatorStats>, intervalMs = 20) {
  const startSecond = Math.floor(Date.now() / 1000);
  const seconds = new Map<number, SecondTally>();
  let last: SimulatorStats | undefined;
  let stopped = false;
  const loop = (async () => {
    last = await stats();
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      const now = await stats();
      const second = Math.floor(Date.now() / 1000) - startSecond;
      const bucket = seconds.get(second) ?? { second, rateLimited: 0, accepted: 0 };
      bucket.rateLimited += now.rate_limited - last.rate_limited;
      bucket.accepted += now.send_requests - last.send_requests;
      seconds.set(second, bucket);
      last = now;
    }
  })();
  return {
    async stop(): Promise<SecondTally[]> {
      stopped = true;
      await loop;
      const max = Math.max(0, ...seconds.keys());
      return Array.from({ length: max + 1 }, (_, s) => seconds.get(s) ?? { second: s, rateLimited: 0, accepted: 0 });
    },
  };
}

/** The `q` quantile (0..1) of `values` (nearest rank). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * A steady stream of interactive sends: starts one every 1000 / `perSecond` ms (without waiting for the previous one)
 * until stopped; each send's latency and HTTP status are kept.
 */
export function interactiveStream(send: (i: number) => Promise<number>, perSecond: number) {
  const results: { at: number; ms: number; status: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  const loop = (async () => {
    const start = Date.now();
    for (let i = 0; !stopped; i++) {
      const wait = start + (i * 1000) / perSecond - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (stopped) break;
      const t0 = performance.now();
      const at = Date.now();
      const call: Promise<void> = send(i)
        .then((status) => {
          results.push({ at, ms: performance.now() - t0, status });
        })
        .catch(() => {
          results.push({ at, ms: performance.now() - t0, status: 0 });
        })
        .finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
      const ms = results.map((r) => r.ms);
      return {
        sends: results.length,
        statuses: results.map((r) => r.status),
        p50: quantile(ms, 0.5),
        p99: quantile(ms, 0.99),
        max: Math.max(...ms),
        /** Each send's start (epoch ms) and latency. */
        latencies: results.map(({ at, ms }) => ({ at, ms })),
      };
    },
  };
}

/** The merchant's rate-counter items of epoch seconds [from, to), read straight from the DynamoDB stand-in. */
export async function rateCounterSeconds(
  stack: Pick<LocalStack, "emulators" | "mchid">,
  from: number,
  to: number,
): Promise<{ second: number; usage: RateUsage | undefined }[]> {
  const { endpoints, env: vars } = stack.emulators;
  const doc = createDocumentClient({
    endpoint: endpoints.dynamodb,
    region: vars.AWS_REGION,
    credentials: { accessKeyId: vars.AWS_ACCESS_KEY_ID, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY },
  });
  try {
    const counter = new DynamoDbRateCounter({ doc, tableName: vars.TABLE_NAME });
    const seconds = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
    return await Promise.all(
      seconds.map(async (second) => ({ second, usage: await counter.usage(merchantScope(stack.mchid), second) })),
    );
  } finally {
    doc.destroy();
  }
}
