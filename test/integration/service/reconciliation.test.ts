import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import type {
  CampaignCouponsResponse,
  CampaignReportResponse,
  CouponLifecycleResponse,
  ReconciliationFindingsResponse,
  ReconciliationResponse,
} from "#shared/edges/http/response-schemas.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import { couponEventsReader } from "../../helpers/coupon-events.js";
import { responseSchemaFor } from "../../helpers/documented-responses.js";
import { eventSchemaValidator } from "../../helpers/event-schemas.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

/**
 * The must-show of reconciliation (issue 16): uses whose COUPON.USE never got through (the webhook answered 503 to
 * all nine deliveries) are recovered from WeChat's use-flow file by the scheduled job, counted once, and a second
 * reconciliation changes nothing. The same run then records the 300 coupons still unused EXPIRED: one
 * `coupon.expired` each, none for a coupon the use flow showed used, none again from the second run.
 */

const RECIPIENTS = 500;
const USED = 200;
/** The stock's coupon amount (test/helpers/stock-body.ts): a cash coupon is consumed whole. */
const COUPON_AMOUNT = 100;

let stack: LocalStack;
let stockId: string;
let down: Server;
/** What a subscriber of the coupon-events queue receives (docs/events.md). */
const events = couponEventsReader(() => stack);
const schemas = eventSchemaValidator();
/** Deliveries the failing webhook answered 503, per notification id. */
const refused = new Map<string, number>();

beforeAll(async () => {
  stack = await startTestStack({
    workerConcurrency: 2,
    // The schedule's rate shortened from the template's minute, and WeChat asked about the stock at every run.
    scheduleIntervalSeconds: { sweeper: 2, reconcile: 2 },
    reconcilePollSeconds: 1,
  });
  stockId = await runningStock(stack, "it-reconcile-stock", { maxCoupons: 1_000, perUser: 1 });
  // The merchant's webhook, down: 503 to every delivery (WeChat delivers COUPON.USE nine times in all, then stops).
  down = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const id = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string }).id;
      refused.set(id, (refused.get(id) ?? 0) + 1);
      res.statusCode = 503;
      res.end();
    });
  });
  await new Promise<void>((r) => down.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(down.address() as AddressInfo).port}/notify`;
  const set = await callApi(stack, "POST", "/callbacks", { notify_url: url, switch: true });
  if (set.status !== 200) throw new Error(`set callback: ${set.status}`);
}, 90_000);
afterAll(async () => {
  down?.close();
  await stack?.stop();
});

const coupon = async (id: string) => (await callApi<CouponLifecycleResponse>(stack, "GET", `/coupons/${id}`)).body;
const report = async (campaignId: string) =>
  (await callApi<CampaignReportResponse>(stack, "GET", `/campaigns/${campaignId}/report`)).body;
const reconciliation = (id: string) => callApi<ReconciliationResponse>(stack, "GET", `/reconciliations/${id}`);

async function allCoupons(campaignId: string): Promise<CouponLifecycleResponse[]> {
  const all: CouponLifecycleResponse[] = [];
  let cursor: string | undefined;
  do {
    const page = await callApi<CampaignCouponsResponse>(
      stack,
      "GET",
      `/campaigns/${campaignId}/coupons?limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    all.push(...page.body.data);
    cursor = page.body.cursor;
  } while (cursor);
  return all;
}

async function useInSimulator(couponId: string): Promise<{ transactionId: string; notificationId: string }> {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/coupons/${couponId}/use`, {
    method: "POST",
    body: "{}",
  });
  expect(response.status).toBe(200);
  const used = (await response.json()) as { consume_information: { transaction_id: string }; notification_id: string };
  return { transactionId: used.consume_information.transaction_id, notificationId: used.notification_id };
}

describe("reconciliation with WeChat's flow files through the local stack", () => {
  it("recovers 200 uses the webhook never received, on its schedule, counts them once, and a second run changes nothing", async () => {
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: Array.from({ length: RECIPIENTS }, (_, i) => `o-reconcile-${i}`),
      rate_per_second: 200,
    });
    expect(posted.status).toBe(202);
    const campaignId = posted.body.campaign_id;
    await expect
      .poll(async () => (await report(campaignId)).sent, { timeout: 180_000, interval: 500 })
      .toBe(RECIPIENTS);
    const issued = await allCoupons(campaignId);
    expect(issued).toHaveLength(RECIPIENTS);

    // 200 coupons used at WeChat; every COUPON.USE delivery fails.
    const uses = new Map<string, { transactionId: string; notificationId: string }>();
    for (const c of issued.slice(0, USED)) uses.set(c.coupon_id, await useInSimulator(c.coupon_id));
    const notificationIds = new Set([...uses.values()].map((u) => u.notificationId));
    await expect
      .poll(
        async () => {
          const records = (await (await fetch(`${stack.simulatorUrl}/_simulator/notifications`)).json()) as {
            data: { id: string; attempts: number; abandoned: boolean }[];
          };
          return records.data.filter((n) => notificationIds.has(n.id) && n.abandoned && n.attempts === 9).length;
        },
        { timeout: 120_000, interval: 1_000 },
      )
      .toBe(USED);
    expect([...notificationIds].every((id) => refused.get(id) === 9)).toBe(true);
    // The service knows nothing of them: still SENT, nothing counted.
    expect((await coupon(issued[0]!.coupon_id)).state).toBe("SENT");
    expect((await report(campaignId)).used).toBe(0);

    // The stock ends and WeChat's clock passes the flows' availability (10:00 Beijing the next day); the service's
    // clock does not move: the schedule finds out from WeChat that the use flow is served.
    const stock = (await callApi<{ available_end_time: string }>(stack, "GET", `/stocks/${stockId}`)).body;
    const availableAt = flowFilesAvailableAt(stock.available_end_time);
    const moved = await fetch(`${stack.simulatorUrl}/_simulator/clock`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ set: new Date(availableAt + 60_000).toISOString() }),
    });
    expect(moved.status).toBe(200);

    // The scheduled run: one per stock, named after it.
    const scheduled = `auto-${stockId}`;
    await expect
      .poll(async () => (await reconciliation(scheduled)).body.status, { timeout: 120_000, interval: 1_000 })
      .toBe("COMPLETED");
    const run = await reconciliation(scheduled);
    expect(responseSchemaFor("GET", `/reconciliations/${scheduled}`, 200)!.safeParse(run.body).success).toBe(true);
    expect(run.body).toMatchObject({
      stock_id: stockId,
      trigger: "schedule",
      phase: "expire",
      rows_read: { use: USED, refund: 0 },
      findings: { use_recovered: USED, refund_recorded: 0, not_issued: 0 },
      expired: RECIPIENTS - USED,
      available_end_time: new Date(stock.available_end_time).toISOString(),
    });

    // Every use is recorded USED with WeChat's transaction id, found by reconciliation.
    for (const [couponId, use] of uses) {
      const record = await coupon(couponId);
      expect(record).toMatchObject({
        state: "USED",
        transaction_ids: [use.transactionId],
        used_amount: COUPON_AMOUNT,
      });
      expect(record.history.map((h) => [h.state, h.source])).toEqual([
        ["SENT", "send"],
        ["USED", "reconciliation"],
      ]);
    }
    // The coupons still unused after both files are recorded EXPIRED at the stock's end (the uses the file reported
    // were recorded first, so none of those is expired), and the campaign's list agrees.
    const unused = issued.slice(USED);
    const expiredOne = await coupon(unused[0]!.coupon_id);
    expect(expiredOne).toMatchObject({
      state: "EXPIRED",
      available_end_time: new Date(stock.available_end_time).toISOString(),
    });
    expect(expiredOne.history.map((h) => [h.state, h.source, h.at])).toEqual([
      ["SENT", "send", unused[0]!.sent_at],
      ["EXPIRED", "reconciliation", new Date(stock.available_end_time).toISOString()],
    ]);
    const listed = await allCoupons(campaignId);
    expect(
      listed
        .filter((c) => c.state === "EXPIRED")
        .map((c) => c.coupon_id)
        .sort(),
    ).toEqual(unused.map((c) => c.coupon_id).sort());
    const expiredPage = await callApi<CampaignCouponsResponse>(
      stack,
      "GET",
      `/campaigns/${campaignId}/coupons?state=EXPIRED&limit=1000`,
    );
    expect(expiredPage.body.data.map((c) => c.coupon_id).sort()).toEqual(unused.map((c) => c.coupon_id).sort());
    const sentPage = await callApi<CampaignCouponsResponse>(
      stack,
      "GET",
      `/campaigns/${campaignId}/coupons?state=SENT`,
    );
    expect(sentPage.body.data).toEqual([]);
    const counted = await report(campaignId);
    expect(counted).toMatchObject({
      sent: RECIPIENTS,
      used: USED,
      used_amount: USED * COUPON_AMOUNT,
      redemption_rate: 0.4,
    });
    // Published: one coupon.used per recovered use, marked found by reconciliation, and one reconciliation.completed.
    await expect
      .poll(
        async () => {
          await events.settled();
          return [
            events.ofType("coupon.used").length,
            events.ofType("coupon.expired").length,
            events.ofType("reconciliation.completed").length,
          ];
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toEqual([USED, RECIPIENTS - USED, 1]);
    const usedEvents = events.ofType("coupon.used");
    expect(new Set(usedEvents.map((e) => e.detail.coupon_id))).toEqual(new Set(uses.keys()));
    expect(new Set(usedEvents.map((e) => e.detail.event_id)).size).toBe(USED);
    for (const e of usedEvents) {
      expect(e.detail).toMatchObject({
        found_by: "reconciliation",
        state: "USED",
        stock_id: stockId,
        campaign_id: campaignId,
        transaction_ids: [uses.get(String(e.detail.coupon_id))!.transactionId],
      });
    }
    // One coupon.expired per unused coupon, at the stock's end; none for a used one.
    const expiredEvents = events.ofType("coupon.expired");
    expect(new Set(expiredEvents.map((e) => e.detail.coupon_id))).toEqual(new Set(unused.map((c) => c.coupon_id)));
    expect(new Set(expiredEvents.map((e) => e.detail.event_id)).size).toBe(RECIPIENTS - USED);
    for (const e of expiredEvents) {
      expect(e.detail).toMatchObject({
        state: "EXPIRED",
        stock_id: stockId,
        campaign_id: campaignId,
        issued_by_service: true,
        transaction_ids: [],
        occurred_at: new Date(stock.available_end_time).toISOString(),
        available_end_time: new Date(stock.available_end_time).toISOString(),
      });
    }
    const [completed] = events.ofType("reconciliation.completed");
    expect(completed!.detail).toMatchObject({
      reconciliation_id: scheduled,
      stock_id: stockId,
      trigger: "schedule",
      use_rows: USED,
      refund_rows: 0,
      findings: { use_recovered: USED, refund_recorded: 0, not_issued: 0 },
      expired: RECIPIENTS - USED,
    });
    for (const e of [...usedEvents, ...expiredEvents, completed!]) {
      expect(schemas.errors(e), e["detail-type"]).toEqual([]);
    }

    // The findings as CSV: a header and one line per recovered use.
    const csv = await fetch(`${stack.apiUrl}/reconciliations/${scheduled}/findings.csv?limit=10000`, {
      headers: { authorization: `Bearer ${stack.token}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe("kind,flow,coupon_id,stock_id,transaction_id,at,amount,refund_id,campaign_id");
    expect(lines).toHaveLength(USED + 1);
    expect(new Set(lines.slice(1).map((l) => l.split(",")[2]))).toEqual(new Set(uses.keys()));
    const page = await callApi<ReconciliationFindingsResponse>(
      stack,
      "GET",
      `/reconciliations/${scheduled}/findings?limit=150`,
    );
    expect(page.body.data).toHaveLength(150);
    expect(page.body.data[0]).toMatchObject({ kind: "use_recovered", flow: "use", campaign_id: campaignId });
    expect(page.body.cursor).toEqual(expect.any(String));

    // Again, on demand: it reads the same 200 rows and changes nothing.
    const before = await Promise.all([...uses.keys(), ...unused.map((c) => c.coupon_id)].slice(180, 220).map(coupon));
    const requested = await callApi<ReconciliationResponse>(stack, "POST", "/reconciliations", { stock_id: stockId });
    expect(requested.status).toBe(202);
    expect(responseSchemaFor("POST", "/reconciliations", 202)!.safeParse(requested.body).success).toBe(true);
    const again = requested.body.reconciliation_id;
    await expect
      .poll(async () => (await reconciliation(again)).body.status, { timeout: 60_000, interval: 1_000 })
      .toBe("COMPLETED");
    expect((await reconciliation(again)).body).toMatchObject({
      trigger: "request",
      rows_read: { use: USED, refund: 0 },
      findings: { use_recovered: 0, refund_recorded: 0, not_issued: 0 },
      expired: 0,
    });
    expect(await Promise.all([...uses.keys(), ...unused.map((c) => c.coupon_id)].slice(180, 220).map(coupon))).toEqual(
      before,
    );
    expect(await report(campaignId)).toEqual(counted);
    // It publishes its own reconciliation.completed and no coupon.used.
    await expect
      .poll(
        async () => {
          await events.settled();
          return events.ofType("reconciliation.completed").length;
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe(2);
    expect(events.ofType("reconciliation.completed", ["reconciliation_id", again])).toHaveLength(1);
    expect(events.ofType("reconciliation.completed", ["reconciliation_id", again])[0]!.detail).toMatchObject({
      trigger: "request",
      use_rows: USED,
      findings: { use_recovered: 0, refund_recorded: 0, not_issued: 0 },
      expired: 0,
    });
    expect(events.ofType("coupon.used")).toHaveLength(USED);
    expect(events.ofType("coupon.expired")).toHaveLength(RECIPIENTS - USED);
  }, 600_000);

  it("answers 400 naming the field for a bad stock_id and 404 for an unknown run", async () => {
    const bad = await callApi<{ code: string; field: string }>(stack, "POST", "/reconciliations", { stock_id: "x/y" });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe("stock_id");
    const missing = await callApi<{ code: string }>(stack, "GET", "/reconciliations/no-such-run");
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("RECONCILIATION_NOT_FOUND");
  });
});
