import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

// Pause, resume, cancel, schedule and the campaign list through the whole local stack: API, SQS stand-in, worker,
// DynamoDB stand-in and the WeChat Pay simulator, whose ledger says what WeChat really issued.

let stack: LocalStack;
let stockId: string;
let otherStockId: string;
const WECHAT_TIMEOUT_MS = 1_000;

beforeAll(async () => {
  stack = await startTestStack({
    wechatTimeoutMs: WECHAT_TIMEOUT_MS,
    workerConcurrency: 4,
    sendVisibilityTimeoutSeconds: 10,
  });
  [stockId, otherStockId] = await Promise.all([
    runningStock(stack, "it-lifecycle-stock"),
    runningStock(stack, "it-lifecycle-other"),
  ]);
}, 60_000);
afterAll(async () => stack?.stop());

const openids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const issued = (prefix: string) => stack.simulator.ledger().filter((c) => c.openid.startsWith(`${prefix}-`));
const status = async (id: string) => (await callApi<Record<string, unknown>>(stack, "GET", `/campaigns/${id}`)).body;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(id: string, predicate: (c: Record<string, unknown>) => boolean, timeout: number) {
  await expect.poll(async () => predicate(await status(id)), { timeout, interval: 200 }).toBe(true);
  return status(id);
}

describe("campaign lifecycle through the local stack", () => {
  it("pause: no send starts after the pause is acknowledged; resume: the rest is sent, each once", async () => {
    const id = "it-pause";
    const posted = await callApi(stack, "POST", "/campaigns", {
      campaign_id: id,
      stock_id: stockId,
      openids: openids("paused", 120),
      rate_per_second: 20,
    });
    expect(posted.status).toBe(202);
    await waitFor(id, (c) => (c.sent as number) >= 10, 30_000);

    const paused = await callApi<{ campaign: Record<string, unknown>; changed: boolean }>(
      stack,
      "POST",
      `/campaigns/${id}/pause`,
    );
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ changed: true, campaign: { state: "PAUSED", state_reason: "paused" } });
    // A call that started before the acknowledgement has reached the simulator within the client's timeout.
    await sleep(WECHAT_TIMEOUT_MS);
    const atPause = issued("paused").length;
    expect(atPause).toBeLessThan(120);
    await sleep(4_000);
    expect(issued("paused").length).toBe(atPause);
    const whilePaused = await status(id);
    expect(whilePaused).toMatchObject({ state: "PAUSED", state_reason: "paused", failed: 0 });
    expect(await callApi(stack, "POST", `/campaigns/${id}/pause`)).toMatchObject({
      status: 200,
      body: { changed: false },
    });

    const resumed = await callApi(stack, "POST", `/campaigns/${id}/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { changed: true } });
    expect((resumed.body as { campaign: Record<string, unknown> }).campaign.state_reason).toBeUndefined();
    const done = await waitFor(id, (c) => c.state === "COMPLETED", 90_000);
    expect(done).toMatchObject({ total: 120, sent: 120, failed: 0, cancelled: 0, pending: 0 });
    const rows = issued("paused");
    expect(rows).toHaveLength(120);
    expect(new Set(rows.map((r) => r.out_request_no)).size).toBe(120);
    expect(await callApi(stack, "POST", `/campaigns/${id}/pause`)).toMatchObject({
      status: 409,
      body: { code: "CAMPAIGN_COMPLETED", field: "campaign_id" },
    });
  }, 150_000);

  it("cancel: the unsent recipients are recorded CANCELLED, never sent, and the campaign completes exactly", async () => {
    const id = "it-cancel";
    await callApi(stack, "POST", "/campaigns", {
      campaign_id: id,
      stock_id: stockId,
      openids: openids("cancelled", 100),
      rate_per_second: 10,
    });
    await waitFor(id, (c) => (c.sent as number) >= 5, 30_000);
    const cancelled = await callApi(stack, "POST", `/campaigns/${id}/cancel`);
    expect(cancelled).toMatchObject({ status: 200, body: { changed: true, campaign: { state_reason: "cancelled" } } });

    const done = await waitFor(id, (c) => c.state === "COMPLETED", 60_000);
    expect(done).toMatchObject({ state_reason: "cancelled", total: 100, failed: 0, pending: 0 });
    const sent = done.sent as number;
    expect(sent).toBeGreaterThanOrEqual(5);
    expect(done.cancelled).toBe(100 - sent);
    expect(done.cancelled as number).toBeGreaterThan(0);
    // WeChat issued exactly the sent ones: the cancelled recipients never reached it.
    const rows = issued("cancelled");
    expect(rows).toHaveLength(sent);
    expect(new Set(rows.map((r) => r.out_request_no)).size).toBe(sent);
    expect(await callApi(stack, "POST", `/campaigns/${id}/resume`)).toMatchObject({
      status: 409,
      body: { code: "CAMPAIGN_COMPLETED" },
    });
    const listed = await callApi<{ data: Record<string, unknown>[] }>(stack, "GET", "/campaigns?state=COMPLETED");
    expect(listed.body.data.find((c) => c.campaign_id === id)).toMatchObject({ state_reason: "cancelled" });
  }, 120_000);

  it("schedule: nothing is sent before start_at, everything after; a start_at in the past is a 400", async () => {
    const id = "it-scheduled";
    const startAt = Date.now() + 6_000;
    const posted = await callApi(stack, "POST", "/campaigns", {
      campaign_id: id,
      stock_id: stockId,
      openids: openids("scheduled", 20),
      start_at: new Date(startAt).toISOString(),
    });
    expect(posted).toMatchObject({ status: 202, body: { state: "SCHEDULED", state_reason: "scheduled" } });
    expect(await status(id)).toMatchObject({ state: "SCHEDULED", start_at: new Date(startAt).toISOString() });
    await sleep(3_000);
    expect(issued("scheduled")).toHaveLength(0);
    const done = await waitFor(id, (c) => c.state === "COMPLETED", 60_000);
    expect(Date.now()).toBeGreaterThanOrEqual(startAt);
    expect(done).toMatchObject({ sent: 20, failed: 0 });
    expect(issued("scheduled")).toHaveLength(20);

    const past = await callApi(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: ["late"],
      start_at: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(past).toMatchObject({ status: 400, body: { code: "START_AT_IN_PAST", field: "start_at" } });
    const far = await callApi(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: ["late"],
      start_at: new Date(Date.now() + 31 * 24 * 3600_000).toISOString(),
    });
    expect(far).toMatchObject({ status: 400, body: { code: "START_AT_TOO_FAR", field: "start_at" } });
    const bad = await callApi(stack, "POST", "/campaigns", { stock_id: stockId, openids: ["x"], start_at: "soon" });
    expect(bad).toMatchObject({ status: 400, body: { field: "start_at" } });
  }, 90_000);

  it("lists campaigns newest first, by page, filtered by state and stock; refuses bad filters and cursors", async () => {
    for (const [n, stock] of [
      [1, otherStockId],
      [2, otherStockId],
      [3, otherStockId],
    ] as const) {
      await callApi(stack, "POST", "/campaigns", {
        campaign_id: `it-list-${n}`,
        stock_id: stock,
        openids: [`listed-${n}`],
        start_at: new Date(Date.now() + 3_600_000).toISOString(),
      });
      await sleep(5); // distinct created_at
    }
    await callApi(stack, "POST", "/campaigns/it-list-2/pause");
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await callApi<{ data: { campaign_id: string }[]; cursor?: string }>(
        stack,
        "GET",
        `/campaigns?stock_id=${otherStockId}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((c) => c.campaign_id));
      cursor = page.body.cursor;
    } while (cursor);
    expect(seen).toEqual(["it-list-3", "it-list-2", "it-list-1"]);

    const paused = await callApi<{ data: Record<string, unknown>[] }>(stack, "GET", "/campaigns?state=PAUSED");
    expect(paused.body.data.map((c) => c.campaign_id)).toEqual(["it-list-2"]);
    expect(paused.body.data[0]).toMatchObject({ state: "PAUSED", state_reason: "paused", stock_id: otherStockId });
    const scheduled = await callApi<{ data: Record<string, unknown>[] }>(
      stack,
      "GET",
      `/campaigns?state=SCHEDULED&stock_id=${otherStockId}`,
    );
    expect(scheduled.body.data.map((c) => c.campaign_id)).toEqual(["it-list-3", "it-list-1"]);

    expect(await callApi(stack, "GET", "/campaigns?state=RUNNING")).toMatchObject({
      status: 400,
      body: { field: "state" },
    });
    expect(await callApi(stack, "GET", "/campaigns?limit=1000")).toMatchObject({
      status: 400,
      body: { field: "limit" },
    });
    const crafted = Buffer.from(JSON.stringify({ pk: "CAMPAIGN#x", gsi1pk: "CAMPAIGNS#1", gsi1sk: "y" })).toString(
      "base64url",
    );
    expect(await callApi(stack, "GET", `/campaigns?cursor=${crafted}`)).toMatchObject({
      status: 400,
      body: { code: "INVALID_ARGUMENT", field: "cursor" },
    });
    expect(await callApi(stack, "POST", "/campaigns/no-such-campaign/cancel")).toMatchObject({
      status: 404,
      body: { code: "CAMPAIGN_NOT_FOUND" },
    });
    for (const n of [1, 2, 3]) await callApi(stack, "POST", `/campaigns/it-list-${n}/cancel`);
  }, 60_000);
});
