import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { responseSchemaFor } from "../../helpers/documented-responses.js";
import { type ApiResponse, callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";
import { setSendPermission } from "../../helpers/simulator-control.js";

// WeChat refusing the merchant rather than a recipient (docs/wechatpay-cash-coupons.md#refusals-about-the-merchant),
// through the whole local stack: API, SQS stand-in, worker, DynamoDB stand-in and the WeChat Pay simulator, whose
// merchant loses its right to send mid-campaign (403 NO_AUTH 发券商户无权限使用此API) and whose ledger says what
// WeChat really issued.

let stack: LocalStack;
const WECHAT_TIMEOUT_MS = 1_000;

beforeAll(async () => {
  stack = await startTestStack({
    wechatTimeoutMs: WECHAT_TIMEOUT_MS,
    workerConcurrency: 4,
    sendVisibilityTimeoutSeconds: 10,
  });
}, 60_000);
afterAll(async () => {
  await setSendPermission(stack, stack.mchid, true).catch(() => undefined);
  await stack?.stop();
});

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

describe("merchant-level refusals through the local stack", () => {
  it("a merchant refused mid-campaign pauses it (merchant_not_permitted), nothing final; after resume it completes", async () => {
    const stockId = await runningStock(stack, "it-merchant-midway");
    const id = "it-merchant-refused-midway";
    const posted = await callApi(stack, "POST", "/campaigns", {
      campaign_id: id,
      stock_id: stockId,
      openids: openids("mch", 60),
      rate_per_second: 10,
    });
    expect(posted.status).toBe(202);
    await waitFor(id, (c) => (c.sent as number) >= 5, 30_000);

    await setSendPermission(stack, stack.mchid, false);
    const paused = await waitFor(id, (c) => c.state === "PAUSED", 30_000);
    expect(paused).toMatchObject({ state_reason: "merchant_not_permitted", failed: 0, failures_by_code: {} });
    // A send that started before the pause has reached the simulator within the client's timeout; none after.
    await sleep(WECHAT_TIMEOUT_MS);
    const atPause = issued("mch").length;
    expect(atPause).toBeLessThan(60);
    await sleep(3_000);
    expect(issued("mch")).toHaveLength(atPause);
    const held = await status(id);
    expect(held).toMatchObject({ state: "PAUSED", state_reason: "merchant_not_permitted", failed: 0 });
    expect((held.sent as number) + (held.pending as number)).toBe(60);

    // Resumed while WeChat still refuses the merchant: the stock check passes (nothing tells whether the merchant may
    // send again), and the first send refused pauses the campaign again; still nothing final.
    const early = await callApi<{ changed: boolean }>(stack, "POST", `/campaigns/${id}/resume`);
    expect(early).toMatchObject({ status: 200, body: { changed: true } });
    const again = await waitFor(id, (c) => c.state === "PAUSED", 60_000);
    expect(again).toMatchObject({ state_reason: "merchant_not_permitted", failed: 0, failures_by_code: {} });
    expect(issued("mch")).toHaveLength(atPause);

    await setSendPermission(stack, stack.mchid, true);
    const path = `/campaigns/${id}/resume`;
    const resumed = documented(
      "POST",
      path,
      await callApi<{ campaign: Record<string, unknown>; changed: boolean }>(stack, "POST", path),
    );
    expect(resumed).toMatchObject({ status: 200, body: { changed: true } });
    expect(resumed.body.campaign.state_reason).toBeUndefined();
    const done = await waitFor(id, (c) => c.state === "COMPLETED", 150_000);
    expect(done).toMatchObject({ total: 60, sent: 60, failed: 0, cancelled: 0, pending: 0, failures_by_code: {} });
    const rows = issued("mch");
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.out_request_no)).size).toBe(60);
  }, 300_000);

  it("POST /coupons refused for the merchant answers 403 MERCHANT_NOT_PERMITTED, stores nothing; the same key sends later", async () => {
    const stockId = await runningStock(stack, "it-merchant-one-off");
    const send = { out_request_no: "it-merchant-one-off-1", stock_id: stockId, openid: "mch-one-off" };
    await setSendPermission(stack, stack.mchid, false);
    try {
      for (let i = 0; i < 2; i++) {
        const refused = documented("POST", "/coupons", await callApi(stack, "POST", "/coupons", send));
        expect(refused).toMatchObject({ status: 403, body: { code: "MERCHANT_NOT_PERMITTED" } });
        expect(JSON.stringify(refused.body)).toContain("NO_AUTH");
      }
    } finally {
      await setSendPermission(stack, stack.mchid, true);
    }
    const sent = documented("POST", "/coupons", await callApi(stack, "POST", "/coupons", send));
    expect(sent).toMatchObject({ status: 200, body: { replayed: false } });
    const rows = stack.simulator.ledger().filter((c) => c.out_request_no === send.out_request_no);
    expect(rows.map((r) => r.coupon_id)).toEqual([(sent.body as { coupon_id: string }).coupon_id]);
  }, 60_000);
});
