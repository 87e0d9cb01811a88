import { type ChildProcess, fork } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack({ wechatTimeoutMs: 1_000, workerConcurrency: 4, sendVisibilityTimeoutSeconds: 10 });
  stockId = await runningStock(stack, "it-campaign-stock");
}, 60_000);
afterAll(async () => stack?.stop());

const openids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function setFaults(body: Record<string, unknown>) {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/faults`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

async function waitForCompletion(campaignId: string, timeout: number) {
  await expect
    .poll(async () => (await callApi(stack, "GET", `/campaigns/${campaignId}`)).body.state, { timeout, interval: 250 })
    .toBe("COMPLETED");
  return (await callApi(stack, "GET", `/campaigns/${campaignId}`)).body;
}

function ledgerCountsFor(prefix: string) {
  const rows = stack.simulator.ledger().filter((c) => c.openid.startsWith(`${prefix}-`));
  const perKey = new Map<string, number>();
  for (const row of rows) perKey.set(row.out_request_no, (perKey.get(row.out_request_no) ?? 0) + 1);
  return { coupons: rows.length, duplicates: [...perKey.values()].filter((n) => n > 1).length };
}

describe("campaigns through the local stack", () => {
  it("sends a 1,000-recipient campaign exactly once per recipient while WeChat fails 20% of calls", async () => {
    await setFaults({ error_rate: 0.2, kinds: ["500", "429", "timeout"], timeout_ms: 1_500 });
    try {
      const posted = await callApi<{ campaign_id: string; total: number }>(stack, "POST", "/campaigns", {
        stock_id: stockId,
        openids: openids("faulty", 1_000),
        rate_per_second: 300,
      });
      expect(posted.status).toBe(202);
      expect(posted.body.total).toBe(1_000);
      const again = await callApi(stack, "POST", "/campaigns", {
        stock_id: stockId,
        openids: openids("faulty", 1_000),
        rate_per_second: 300,
      });
      expect(again.body).toMatchObject({ campaign_id: posted.body.campaign_id, replayed: true });
      const done = await waitForCompletion(posted.body.campaign_id, 120_000);
      expect(done).toMatchObject({ total: 1_000, sent: 1_000, failed: 0, pending: 0 });
      expect(ledgerCountsFor("faulty")).toEqual({ coupons: 1_000, duplicates: 0 });
    } finally {
      await setFaults({ error_rate: 0 });
    }
  }, 150_000);

  it("finishes with none lost and none doubled when the worker process is killed mid-campaign and restarted", async () => {
    await stack.stopWorker();
    const spawnWorker = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = fork("local/stack/worker-process.ts", {
          execArgv: ["--import", "tsx"],
          env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR" },
          stdio: "ignore",
        });
        child.once("message", () => resolve(child));
        child.once("error", reject);
      });
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: openids("killed", 600),
      rate_per_second: 200,
    });
    let worker = await spawnWorker();
    for (let kill = 0; kill < 3; kill++) {
      await new Promise((r) => setTimeout(r, 700 + Math.random() * 600));
      worker.kill("SIGKILL");
      worker = await spawnWorker();
    }
    try {
      const done = await waitForCompletion(posted.body.campaign_id, 120_000);
      expect(done).toMatchObject({ total: 600, sent: 600, failed: 0 });
      expect(ledgerCountsFor("killed")).toEqual({ coupons: 600, duplicates: 0 });
    } finally {
      worker.kill("SIGKILL");
      await stack.restartWorker();
    }
  }, 150_000);
});
