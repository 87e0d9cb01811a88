import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { responseSchemaFor } from "../../helpers/documented-responses.js";
import {
  type ApiResponse,
  callApi,
  chinaTime,
  runningStock,
  startTestStack,
  validStockBody,
} from "../../helpers/local-stack-client.js";
import { setReplayChecks, setSimulatorFaults } from "../../helpers/simulator-control.js";

// The stock checks of campaigns and the refusals WeChat gives for a stock, through the whole local stack: API, SQS
// stand-in, worker, DynamoDB stand-in and the WeChat Pay simulator, whose ledger says what WeChat really issued.

let stack: LocalStack;
const WECHAT_TIMEOUT_MS = 1_000;

beforeAll(async () => {
  stack = await startTestStack({
    wechatTimeoutMs: WECHAT_TIMEOUT_MS,
    workerConcurrency: 4,
    sendVisibilityTimeoutSeconds: 10,
  });
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

/** The answer's status and body are the ones the OpenAPI document gives for the route. */
function documented<T extends ApiResponse<unknown>>(method: string, path: string, answer: T): T {
  responseSchemaFor(method, path, answer.status)?.parse(answer.body);
  return answer;
}

async function stockCommand(stockId: string, command: "pause" | "restart") {
  const answer = await callApi(stack, "POST", `/stocks/${stockId}/${command}`);
  if (answer.status !== 200) throw new Error(`${command} stock: ${answer.status} ${JSON.stringify(answer.body)}`);
}

describe("stock pre-flight through the local stack", () => {
  it("answers 422 for a missing or paused stock and stores nothing; a replay still replays; WeChat failing is a 503", async () => {
    const missing = documented(
      "POST",
      "/campaigns",
      await callApi(stack, "POST", "/campaigns", { stock_id: "99999999", openids: ["a"] }),
    );
    expect(missing).toMatchObject({ status: 422, body: { code: "STOCK_NOT_FOUND", field: "stock_id" } });
    expect(missing.body.message).toContain("99999999");

    const stockId = await runningStock(stack, "it-preflight-paused");
    const replayed = { campaign_id: "it-preflight-replay", stock_id: stockId, openids: ["pf-replay-0"] };
    expect((await callApi(stack, "POST", "/campaigns", replayed)).status).toBe(202);
    await stockCommand(stockId, "pause");

    const paused = await callApi(stack, "POST", "/campaigns", {
      campaign_id: "it-preflight-paused",
      stock_id: stockId,
      openids: openids("pf-paused", 3),
    });
    expect(paused).toMatchObject({ status: 422, body: { code: "STOCK_NOT_RUNNING", field: "stock_id" } });
    const chunked = await callApi(stack, "POST", "/campaigns", {
      campaign_id: "it-preflight-chunked",
      stock_id: stockId,
      chunked: true,
    });
    expect(chunked).toMatchObject({ status: 422, body: { code: "STOCK_NOT_RUNNING" } });
    expect((await callApi(stack, "GET", "/campaigns/it-preflight-paused")).status).toBe(404);
    expect((await callApi(stack, "GET", "/campaigns/it-preflight-chunked")).status).toBe(404);
    const listed = await callApi<{ data: { campaign_id: string }[] }>(stack, "GET", `/campaigns?stock_id=${stockId}`);
    expect(listed.body.data.map((c) => c.campaign_id)).toEqual(["it-preflight-replay"]);

    // The campaign created before the stock was paused is answered as stored, without the check.
    expect(await callApi(stack, "POST", "/campaigns", replayed)).toMatchObject({
      status: 202,
      body: { replayed: true, campaign_id: "it-preflight-replay" },
    });

    // A one-shot campaign larger than the stock's budget left.
    const small = await runningStock(stack, "it-preflight-small", { maxCoupons: 5 });
    const tooMany = await callApi(stack, "POST", "/campaigns", { stock_id: small, openids: openids("pf-small", 6) });
    expect(tooMany).toMatchObject({ status: 422, body: { code: "STOCK_BUDGET_INSUFFICIENT", field: "stock_id" } });
    expect(tooMany.body.message).toMatch(/5 coupons left/);
    const fits = await callApi(stack, "POST", "/campaigns", { stock_id: small, openids: openids("pf-small", 5) });
    expect(fits.status).toBe(202);

    // WeChat failing to answer the stock query is not a refusal: retry.
    await setSimulatorFaults(stack, { error_rate: 1, kinds: ["500"], phase: "before", routes: ["stock-detail"] });
    try {
      const unavailable = documented(
        "POST",
        "/campaigns",
        await callApi(stack, "POST", "/campaigns", { stock_id: stockId, openids: ["pf-x"] }),
      );
      expect(unavailable).toMatchObject({ status: 503, body: { code: "WECHATPAY_UNAVAILABLE" } });
      expect(unavailable.headers.get("retry-after")).toBeTruthy();
    } finally {
      await setSimulatorFaults(stack, { error_rate: 0 });
    }
  }, 60_000);

  it("refuses a stock that begins later unless start_at is at or after it; POST /coupons before it is a 409, never final", async () => {
    const beginAt = Date.now() + 10 * 60_000;
    const created = await callApi<{ stock_id: string }>(stack, "POST", "/stocks", {
      ...validStockBody("it-preflight-later", stack.mchid),
      available_begin_time: chinaTime(beginAt),
    });
    expect(created.status).toBe(201);
    const stockId = created.body.stock_id;
    expect((await callApi(stack, "POST", `/stocks/${stockId}/start`)).status).toBe(200);

    const now = await callApi(stack, "POST", "/campaigns", { stock_id: stockId, openids: ["pf-later-0"] });
    expect(now).toMatchObject({ status: 422, body: { code: "STOCK_NOT_STARTED", field: "stock_id" } });
    const early = await callApi(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: ["pf-later-0"],
      start_at: new Date(beginAt - 60_000).toISOString(),
    });
    expect(early).toMatchObject({ status: 422, body: { code: "STOCK_NOT_STARTED" } });
    const scheduled = await callApi(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: ["pf-later-0"],
      start_at: new Date(Math.ceil(beginAt / 1000) * 1000 + 1_000).toISOString(),
    });
    expect(scheduled).toMatchObject({ status: 202, body: { state: "SCHEDULED", state_reason: "scheduled" } });

    const send = { out_request_no: "it-preflight-later-1", stock_id: stockId, openid: "pf-later-one-off" };
    for (let i = 0; i < 2; i++) {
      const held = documented("POST", "/coupons", await callApi(stack, "POST", "/coupons", send));
      expect(held).toMatchObject({ status: 409, body: { code: "STOCK_NOT_STARTED", field: "stock_id" } });
      expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(60);
    }
    expect(stack.simulator.ledger().filter((c) => c.stock_id === stockId)).toEqual([]);
  }, 60_000);

  it("a stock paused mid-campaign pauses the campaign (stock_not_running), no recipient fails; resume checks the stock", async () => {
    const stockId = await runningStock(stack, "it-preflight-midway");
    const id = "it-stock-paused-midway";
    const posted = await callApi(stack, "POST", "/campaigns", {
      campaign_id: id,
      stock_id: stockId,
      openids: openids("midway", 60),
      rate_per_second: 10,
    });
    expect(posted.status).toBe(202);
    await waitFor(id, (c) => (c.sent as number) >= 5, 30_000);

    await stockCommand(stockId, "pause");
    const paused = await waitFor(id, (c) => c.state === "PAUSED", 30_000);
    expect(paused).toMatchObject({ state_reason: "stock_not_running", failed: 0, failures_by_code: {} });
    // A send that started before the pause has reached the simulator within the client's timeout; none after.
    await sleep(WECHAT_TIMEOUT_MS);
    const atPause = issued("midway").length;
    expect(atPause).toBeLessThan(60);
    await sleep(3_000);
    expect(issued("midway")).toHaveLength(atPause);
    expect(await status(id)).toMatchObject({ state: "PAUSED", state_reason: "stock_not_running", failed: 0 });

    const path = `/campaigns/${id}/resume`;
    const refused = documented("POST", path, await callApi(stack, "POST", path));
    expect(refused).toMatchObject({ status: 422, body: { code: "STOCK_NOT_RUNNING", field: "stock_id" } });
    expect(await status(id)).toMatchObject({ state: "PAUSED", state_reason: "stock_not_running" });

    await stockCommand(stockId, "restart");
    const resumed = await callApi<{ campaign: Record<string, unknown>; changed: boolean }>(
      stack,
      "POST",
      `/campaigns/${id}/resume`,
    );
    expect(resumed).toMatchObject({ status: 200, body: { changed: true } });
    expect(resumed.body.campaign.state_reason).toBeUndefined();
    const done = await waitFor(id, (c) => c.state === "COMPLETED", 150_000);
    expect(done).toMatchObject({ total: 60, sent: 60, failed: 0, cancelled: 0, pending: 0 });
    const rows = issued("midway");
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.out_request_no)).size).toBe(60);
  }, 240_000);

  it("a send whose answer was lost, then refused (RULE_LIMIT: WeChat checking the replay first), ends SENT with WeChat's coupon_id", async () => {
    const stockId = await runningStock(stack, "it-preflight-refused", { perUser: 1 });
    const send = { out_request_no: "it-lost-refused-1", stock_id: stockId, openid: "pf-lost-refused" };
    try {
      // WeChat issues the coupon, and its answer is lost (every retry of the client too).
      await setSimulatorFaults(stack, { error_rate: 1, kinds: ["500"], phase: "after", routes: ["send-coupon"] });
      expect(await callApi(stack, "POST", "/coupons", send)).toMatchObject({
        status: 503,
        body: { code: "WECHATPAY_UNAVAILABLE" },
      });
      await setSimulatorFaults(stack, { error_rate: 0 });
      // The replay now meets the per-user limit its own coupon counts against: a refusal that would be final.
      await setReplayChecks(stack, true);
      const ledger = stack.simulator.ledger().filter((c) => c.out_request_no === send.out_request_no);
      expect(ledger).toHaveLength(1);
      // RULE_LIMIT is retried a few times first (WeChat gives it spuriously under concurrent sends: failure-policy.ts);
      // when it would be final, the service asks WeChat (E12) and finds the coupon.
      let answer = await callApi<{ coupon_id?: string; replayed?: boolean }>(stack, "POST", "/coupons", send);
      for (let i = 0; i < 6 && answer.status === 503; i++) {
        expect(answer.body).toMatchObject({ code: "WECHATPAY_UNAVAILABLE" });
        answer = await callApi(stack, "POST", "/coupons", send);
      }
      expect(answer).toMatchObject({ status: 200, body: { coupon_id: ledger[0]!.coupon_id, replayed: false } });
      // Stored SENT: the next call replays the record without asking WeChat.
      const before = stack.simulator.stats().send_requests;
      expect(await callApi(stack, "POST", "/coupons", send)).toMatchObject({
        status: 200,
        body: { coupon_id: ledger[0]!.coupon_id, replayed: true },
      });
      expect(stack.simulator.stats().send_requests).toBe(before);
      expect(await callApi(stack, "GET", `/coupons/${ledger[0]!.coupon_id}`)).toMatchObject({
        status: 200,
        body: { coupon_id: ledger[0]!.coupon_id, state: "SENT" },
      });
    } finally {
      await setSimulatorFaults(stack, { error_rate: 0 });
      await setReplayChecks(stack, false);
    }
    expect(stack.simulator.ledger().filter((c) => c.out_request_no === send.out_request_no)).toHaveLength(1);
  }, 120_000);

  it("a send whose answer was lost, then failing until its retries ran out (RETRIES_EXHAUSTED), ends SENT with WeChat's coupon_id", async () => {
    const stockId = await runningStock(stack, "it-preflight-lost");
    const send = { out_request_no: "it-lost-answer-1", stock_id: stockId, openid: "pf-lost-answer" };
    let coupon: { coupon_id?: string; replayed?: boolean } = {};
    try {
      // WeChat issues the coupon, and its answer is lost (every retry of the client too).
      await setSimulatorFaults(stack, { error_rate: 1, kinds: ["500"], phase: "after", routes: ["send-coupon"] });
      const lost = await callApi(stack, "POST", "/coupons", send);
      expect(lost).toMatchObject({ status: 503, body: { code: "WECHATPAY_UNAVAILABLE" } });
      const ledger = stack.simulator.ledger().filter((c) => c.out_request_no === send.out_request_no);
      expect(ledger).toHaveLength(1);

      // Then every send fails before WeChat acts, while the user-coupon query (E12) answers: the retry budget runs
      // out, and before the failure is recorded the service asks WeChat, which holds the coupon.
      await setSimulatorFaults(stack, { error_rate: 1, kinds: ["500"], phase: "before", routes: ["send-coupon"] });
      for (let i = 0; i < 12; i++) {
        const answer = await callApi<typeof coupon>(stack, "POST", "/coupons", send);
        if (answer.status === 200) {
          coupon = answer.body;
          break;
        }
        expect(answer).toMatchObject({ status: 503 });
      }
      expect(coupon).toMatchObject({ coupon_id: ledger[0]!.coupon_id, replayed: false });
    } finally {
      await setSimulatorFaults(stack, { error_rate: 0 });
    }
    // Stored as SENT: a retry replays it, and WeChat holds exactly one coupon for the key.
    expect(await callApi(stack, "POST", "/coupons", send)).toMatchObject({
      status: 200,
      body: { coupon_id: coupon.coupon_id, replayed: true },
    });
    expect(stack.simulator.ledger().filter((c) => c.out_request_no === send.out_request_no)).toHaveLength(1);
  }, 120_000);
});
