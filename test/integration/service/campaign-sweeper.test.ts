import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { INLINE_RECOUNT_MAX } from "#shared/domain/campaigns/reconcile-campaign.js";
import type { SweepReport } from "#shared/domain/campaigns/sweep-campaigns.js";
import { auditCampaign, type CampaignView, sendQueueDepths } from "../../helpers/campaign-audit.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

/**
 * Campaigns finish from durable state: the send queue is purged mid-campaign, and the sweeper (run by the local stack
 * from the template's schedule, every second here, with a 3 s stall) finds the recipients without a final record,
 * queues them again, and completes the campaign with exact counters; each recipient gets one coupon.
 */
let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack({
    wechatTimeoutMs: 1_000,
    workerConcurrency: 2,
    sendVisibilityTimeoutSeconds: 2,
    scheduleIntervalSeconds: { sweeper: 1, reconcile: 1 },
    sweeperStallSeconds: 3,
  });
  stockId = await runningStock(stack, "it-sweeper-stock");
}, 60_000);
afterAll(async () => stack?.stop());

const openids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const sweeps = () =>
  (stack.schedules.sweeper?.invocations ?? []).flatMap((i) => (i.ok ? [i.value as SweepReport] : []));

async function view(id: string): Promise<CampaignView> {
  return (await callApi<CampaignView>(stack, "GET", `/campaigns/${id}`)).body;
}

describe("the sweeper", () => {
  it("completes a campaign whose queue was purged mid-way, exactly, with one coupon per recipient", async () => {
    const recipients = openids("purged", INLINE_RECOUNT_MAX + 200); // past the worker's inline recount
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: recipients,
      rate_per_second: 60,
    });
    expect(posted.status).toBe(202);
    const id = posted.body.campaign_id;
    await expect.poll(async () => (await view(id)).sent, { timeout: 60_000, interval: 200 }).toBeGreaterThan(100);
    const requeuedBefore = sweeps().reduce((n, r) => n + r.requeued, 0);
    await stack.emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.emulators.env.SEND_QUEUE_URL }));
    const atPurge = await view(id);
    expect(atPurge.state).toBe("SENDING");
    expect(atPurge.sent).toBeLessThan(recipients.length);

    await expect.poll(async () => (await view(id)).state, { timeout: 180_000, interval: 500 }).toBe("COMPLETED");
    const done = await view(id);
    expect(done).toMatchObject({ total: recipients.length, sent: recipients.length, failed: 0, pending: 0 });
    const audit = await auditCampaign(stack, done, recipients);
    expect(audit.problems).toEqual([]);
    expect({ coupons: audit.coupons, duplicates: audit.duplicates, unfinished: audit.unfinished }).toEqual({
      coupons: recipients.length,
      duplicates: 0,
      unfinished: 0,
    });
    expect(sweeps().reduce((n, r) => n + r.requeued, 0) - requeuedBefore).toBeGreaterThan(0);
    expect(sweeps().some((r) => r.completed.includes(id))).toBe(true);
    expect((await sendQueueDepths(stack)).deadLetters).toBe(0);
  }, 240_000);

  it("completes a cancelled campaign whose queue was purged: its unsent recipients are recorded CANCELLED", async () => {
    const recipients = openids("cancel-purged", 300);
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: recipients,
      rate_per_second: 20,
    });
    const id = posted.body.campaign_id;
    await expect.poll(async () => (await view(id)).sent, { timeout: 60_000, interval: 200 }).toBeGreaterThan(10);
    expect((await callApi(stack, "POST", `/campaigns/${id}/cancel`)).status).toBe(200);
    await stack.emulators.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.emulators.env.SEND_QUEUE_URL }));
    await expect.poll(async () => (await view(id)).state, { timeout: 120_000, interval: 500 }).toBe("COMPLETED");
    const done = await callApi<CampaignView & { cancelled: number; state_reason?: string }>(
      stack,
      "GET",
      `/campaigns/${id}`,
    );
    expect(done.body.state_reason).toBe("cancelled");
    expect(done.body.sent + done.body.cancelled).toBe(recipients.length);
    expect(done.body.cancelled).toBeGreaterThan(0);
    const coupons = stack.simulator.ledger().filter((c) => c.openid.startsWith("cancel-purged-")).length;
    expect(coupons).toBe(done.body.sent);
  }, 180_000);
});
