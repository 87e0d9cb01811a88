import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

// A small campaign posted while a big one has a backlog in the one send queue, through the whole local stack (API,
// the durable SQS stand-in with fair-queue delivery, the template's worker mapping, DynamoDB stand-in, simulator).
// Each send message's MessageGroupId is its campaign, so the big campaign, holding nearly all the in-flight messages,
// is the noisy tenant and the small one's messages are received ahead of its backlog
// (docs/aws-notes.md#fair-queues). Without that the three sends wait until the backlog ahead of them drains.

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  // Six batches of ten in flight at once (the template's mapping allows 10): when one batch is done and its poller
  // receives again, the other five still hold 50 of the big campaign's messages, over SQS's 30 and 10 %.
  stack = await startTestStack({ wechatTimeoutMs: 1_000, workerConcurrency: 6, sendVisibilityTimeoutSeconds: 30 });
  stockId = await runningStock(stack, "it-fair-stock");
}, 60_000);
afterAll(async () => stack?.stop());

const openids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const status = async (id: string) => (await callApi<Record<string, unknown>>(stack, "GET", `/campaigns/${id}`)).body;
const issued = (prefix: string) => stack.simulator.ledger().filter((c) => c.openid.startsWith(`${prefix}-`));

const BIG = { id: "it-fair-big", recipients: 2_000, rate: 8 };
/** Generous for three sends under load, yet far below the big campaign's remaining time at its rate. */
const SMALL_BOUND_MS = 45_000;

describe("fair delivery between campaigns through the local stack", () => {
  it("a 3-recipient campaign posted behind a big campaign's backlog completes within seconds; the big one keeps going", async () => {
    const big = await callApi(stack, "POST", "/campaigns", {
      campaign_id: BIG.id,
      stock_id: stockId,
      openids: openids("fair-big", BIG.recipients),
      rate_per_second: BIG.rate,
    });
    expect(big).toMatchObject({ status: 202 });
    // Running, its rate holding thousands of messages back in the queue.
    await expect
      .poll(async () => (await status(BIG.id)).sent as number, { timeout: 60_000, interval: 250 })
      .toBeGreaterThanOrEqual(20);

    const postedAt = Date.now();
    const small = await callApi(stack, "POST", "/campaigns", {
      campaign_id: "it-fair-small",
      stock_id: stockId,
      openids: openids("fair-small", 3),
    });
    expect(small).toMatchObject({ status: 202 });
    await expect
      .poll(async () => (await status("it-fair-small")).state, { timeout: SMALL_BOUND_MS, interval: 250 })
      .toBe("COMPLETED");
    const tookMs = Date.now() - postedAt;
    expect(await status("it-fair-small")).toMatchObject({ total: 3, sent: 3, failed: 0, pending: 0 });
    expect(issued("fair-small")).toHaveLength(3);

    // The big campaign is far from done: what it has left takes minutes at its rate, so the small one did not wait
    // for its backlog.
    const bigThen = await status(BIG.id);
    expect(bigThen.state).toBe("SENDING");
    const remainingSeconds = (BIG.recipients - (bigThen.sent as number)) / BIG.rate;
    expect(remainingSeconds * 1000).toBeGreaterThan(2 * SMALL_BOUND_MS);
    expect(tookMs).toBeLessThan(SMALL_BOUND_MS);

    // And it keeps progressing: the small campaign took its turn, not the big one's place.
    await expect
      .poll(async () => (await status(BIG.id)).sent as number, { timeout: 30_000, interval: 250 })
      .toBeGreaterThan((bigThen.sent as number) + 20);
    expect((await status(BIG.id)).failed).toBe(0);
  }, 240_000);
});
