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

/**
 * Recipients of the faulty-WeChat campaign: at 20 % about 100 failed calls, each kind (500, 429, timeout) about 30
 * times, so every retry path runs many times over; more recipients only repeat them.
 */
const FAULTY = 500;

describe("campaigns through the local stack", () => {
  it("sends a 500-recipient campaign exactly once per recipient while WeChat fails 20% of calls", async () => {
    await setFaults({ error_rate: 0.2, kinds: ["500", "429", "timeout"], timeout_ms: 1_500 });
    try {
      const posted = await callApi<{ campaign_id: string; total: number }>(stack, "POST", "/campaigns", {
        stock_id: stockId,
        openids: openids("faulty", FAULTY),
        rate_per_second: 300,
      });
      expect(posted.status).toBe(202);
      expect(posted.body.total).toBe(FAULTY);
      const again = await callApi(stack, "POST", "/campaigns", {
        stock_id: stockId,
        openids: openids("faulty", FAULTY),
        rate_per_second: 300,
      });
      expect(again.body).toMatchObject({ campaign_id: posted.body.campaign_id, replayed: true });
      const done = await waitForCompletion(posted.body.campaign_id, 120_000);
      expect(done).toMatchObject({ total: FAULTY, sent: FAULTY, failed: 0, pending: 0 });
      expect(ledgerCountsFor("faulty")).toEqual({ coupons: FAULTY, duplicates: 0 });
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
          env: { ...process.env, ...stack.sendWorkerProcessEnv(), POWERTOOLS_LOG_LEVEL: "ERROR" },
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

describe("chunked campaigns through the local stack", () => {
  const chunkPath = (id: string) => `/campaigns/${id}/chunks`;

  it("accepts chunks idempotently, refuses conflicts and late chunks, seals on the last, and completes", async () => {
    const id = "it-chunked-1";
    const open = { campaign_id: id, stock_id: stockId, chunked: true, rate_per_second: 300 };
    const opened = await callApi(stack, "POST", "/campaigns", open);
    expect(opened).toMatchObject({ status: 202, body: { campaign_id: id, total: 0, sealed: false, replayed: false } });
    expect((await callApi(stack, "POST", "/campaigns", open)).body).toMatchObject({ replayed: true, total: 0 });

    const chunk0 = [...openids("chunked", 100), "chunked-0"];
    const first = await callApi(stack, "POST", chunkPath(id), { chunk_no: 0, openids: chunk0 });
    expect(first).toMatchObject({
      status: 202,
      body: { campaign_id: id, chunk_no: 0, accepted: 100, duplicates_removed: 1, replayed: false, total: 100 },
    });
    const replay = await callApi(stack, "POST", chunkPath(id), { chunk_no: 0, openids: chunk0 });
    expect(replay.body).toMatchObject({ replayed: true, accepted: 100, total: 100, sealed: false });
    const conflict = await callApi(stack, "POST", chunkPath(id), { chunk_no: 0, openids: ["someone-else"] });
    expect(conflict).toMatchObject({ status: 409, body: { code: "CHUNK_CONFLICT", field: "chunk_no" } });

    // The same openid in two chunks is two sends (two CSV lines): chunk 1 repeats chunked-0.
    const last = await callApi(stack, "POST", chunkPath(id), {
      chunk_no: 1,
      openids: ["chunked-0", "chunked-extra"],
      last: true,
    });
    expect(last.body).toMatchObject({ accepted: 2, total: 102, sealed: true });
    const late = await callApi(stack, "POST", chunkPath(id), { chunk_no: 2, openids: ["chunked-late"] });
    expect(late).toMatchObject({ status: 409, body: { code: "CHUNK_AFTER_LAST", field: "chunk_no" } });

    const done = await waitForCompletion(id, 60_000);
    expect(done).toMatchObject({ total: 102, sent: 102, failed: 0, sealed: true, chunks_received: 2 });
    expect(ledgerCountsFor("chunked")).toEqual({ coupons: 102, duplicates: 0 });
    expect(stack.simulator.ledger().filter((c) => c.openid === "chunked-0")).toHaveLength(2);
    expect((await callApi(stack, "GET", `/campaigns/${id}/failures`)).body).toEqual({ data: [] });
  }, 90_000);

  it("adds a chunk posted 20 times at once to the total once, and sends each recipient once", async () => {
    const id = "it-chunked-concurrent";
    await callApi(stack, "POST", "/campaigns", { campaign_id: id, stock_id: stockId, chunked: true });
    const chunk = { chunk_no: 0, openids: openids("concurrent", 50), last: true };
    const answers = await Promise.all(Array.from({ length: 20 }, () => callApi(stack, "POST", chunkPath(id), chunk)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(answers.filter((a) => a.body.replayed === false)).toHaveLength(1);
    const done = await waitForCompletion(id, 60_000);
    expect(done).toMatchObject({ total: 50, sent: 50, failed: 0, chunks_received: 1 });
    expect(ledgerCountsFor("concurrent")).toEqual({ coupons: 50, duplicates: 0 });
  }, 90_000);

  it("refuses bad chunk requests with 400 naming the field, and chunks of unknown or one-shot campaigns", async () => {
    const id = "it-chunked-bad";
    await callApi(stack, "POST", "/campaigns", { campaign_id: id, stock_id: stockId, chunked: true });
    const cases: Array<[unknown, string]> = [
      [{ chunk_no: -1, openids: ["a"] }, "chunk_no"],
      [{ chunk_no: 1.5, openids: ["a"] }, "chunk_no"],
      [{ openids: ["a"] }, "chunk_no"],
      [{ chunk_no: 0, openids: [] }, "openids"],
      [{ chunk_no: 0, openids: ["not an openid"] }, "openids.0"],
      [{ chunk_no: 0, openids: ["a"], last: "yes" }, "last"],
      [{ chunk_no: 0, openids: ["a"], extra: 1 }, "extra"],
    ];
    for (const [body, field] of cases) {
      const response = await callApi(stack, "POST", chunkPath(id), body);
      expect([response.status, response.body.field], JSON.stringify(body)).toEqual([400, field]);
    }
    const noId = await callApi(stack, "POST", "/campaigns", { stock_id: stockId, chunked: true });
    expect(noId).toMatchObject({ status: 400, body: { field: "campaign_id" } });
    const both = await callApi(stack, "POST", "/campaigns", {
      campaign_id: "x",
      stock_id: stockId,
      chunked: true,
      openids: ["a"],
    });
    expect(both).toMatchObject({ status: 400, body: { field: "openids" } });
    const unknown = await callApi(stack, "POST", chunkPath("it-no-such-campaign"), { chunk_no: 0, openids: ["a"] });
    expect(unknown).toMatchObject({ status: 404, body: { code: "CAMPAIGN_NOT_FOUND", field: "campaign_id" } });
    const oneShot = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: ["one-shot-a"],
    });
    const refused = await callApi(stack, "POST", chunkPath(oneShot.body.campaign_id), { chunk_no: 1, openids: ["b"] });
    expect(refused).toMatchObject({ status: 409, body: { code: "CAMPAIGN_NOT_CHUNKED" } });
    expect((await callApi(stack, "GET", `/campaigns/${id}`)).body).toMatchObject({ sealed: false, total: 0 });
  }, 30_000);

  it("lists a campaign's failed sends with their codes", async () => {
    const smallStock = await runningStock(stack, "it-chunk-budget", { maxCoupons: 5, perUser: 1 });
    const id = "it-chunked-failures";
    await callApi(stack, "POST", "/campaigns", { campaign_id: id, stock_id: smallStock, chunked: true });
    await callApi(stack, "POST", chunkPath(id), {
      chunk_no: 0,
      openids: openids("budget", 6),
      last: true,
    });
    const done = await waitForCompletion(id, 30_000);
    expect(done).toMatchObject({ total: 6, sent: 5, failed: 1, failures_by_code: { NOT_ENOUGH: 1 } });
    const failures = await callApi<{ data: Array<{ openid: string; code: string; out_request_no: string }> }>(
      stack,
      "GET",
      `/campaigns/${id}/failures`,
    );
    expect(failures.body.data).toEqual([
      {
        openid: expect.stringMatching(/^budget-/),
        out_request_no: expect.stringMatching(`^${id}_`),
        code: "NOT_ENOUGH",
        message: expect.any(String),
      },
    ]);
    expect((await callApi(stack, "GET", "/campaigns/it-nope/failures")).status).toBe(404);
    expect((await callApi(stack, "GET", `/campaigns/${id}/failures?cursor=bogus`)).body).toMatchObject({
      field: "cursor",
    });
  }, 30_000);
});
