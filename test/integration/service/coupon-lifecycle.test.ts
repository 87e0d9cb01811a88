import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import type {
  CampaignCouponsResponse,
  CampaignReportResponse,
  CouponLifecycleResponse,
} from "#shared/edges/http/response-schemas.js";
import { callApi, chinaTime, runningStock, startTestStack, validStockBody } from "../../helpers/local-stack-client.js";
import { deliverNotification, signatureHeaders, signedNotification } from "../../helpers/wechat-notification.js";

let stack: LocalStack;
let stockId: string;
let proxy: Server;
/** Every COUPON.USE the simulator delivered, as it delivered it (forwarded to the webhook unchanged). */
const delivered: { body: string; status: number }[] = [];

beforeAll(async () => {
  stack = await startTestStack({ workerConcurrency: 2 });
  stockId = await runningStock(stack, "it-lifecycle-stock");
  // Between WeChat and the webhook: keeps each delivery's body so a test can deliver it again.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([, v]) => typeof v === "string"),
      ) as Record<string, string>;
      const body = Buffer.concat(chunks).toString("utf8");
      const answer = await fetch(`${stack.apiUrl}/notify/wechatpay`, { method: "POST", headers, body });
      delivered.push({ body, status: answer.status });
      res.statusCode = answer.status;
      res.end();
    });
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/wechat`;
  const set = await callApi(stack, "POST", "/callbacks", { notify_url: proxyUrl, switch: true });
  if (set.status !== 200) throw new Error(`set callback: ${set.status}`);
}, 60_000);
afterAll(async () => {
  proxy?.close();
  await stack?.stop();
});

const coupon = (id: string) => callApi<CouponLifecycleResponse>(stack, "GET", `/coupons/${id}`);
const report = async (campaignId: string) =>
  (await callApi<CampaignReportResponse>(stack, "GET", `/campaigns/${campaignId}/report`)).body;
const couponsOf = async (campaignId: string, query = "") =>
  (await callApi<CampaignCouponsResponse>(stack, "GET", `/campaigns/${campaignId}/coupons${query}`)).body;

async function useInSimulator(couponId: string): Promise<string> {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/coupons/${couponId}/use`, {
    method: "POST",
    body: "{}",
  });
  expect(response.status).toBe(200);
  const used = (await response.json()) as { consume_information: { transaction_id: string } };
  return used.consume_information.transaction_id;
}

describe("coupon lifecycle through the local stack", () => {
  it("follows a campaign's coupons from SENT to USED, lists them by state and reports uses once", async () => {
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: stockId,
      openids: Array.from({ length: 6 }, (_, i) => `o-lifecycle-${i}`),
      rate_per_second: 50,
    });
    expect(posted.status).toBe(202);
    const campaignId = posted.body.campaign_id;
    await expect
      .poll(async () => (await couponsOf(campaignId, "?state=SENT")).data.length, { timeout: 60_000, interval: 250 })
      .toBe(6);
    const sent = (await couponsOf(campaignId)).data;
    expect(sent.every((c) => c.issued_by_service && c.campaign_id === campaignId && c.out_request_no)).toBe(true);
    expect((await coupon(sent[0]!.coupon_id)).body).toMatchObject({
      state: "SENT",
      available_end_time: expect.any(String),
      history: [{ state: "SENT", source: "send" }],
    });

    const used = sent.slice(0, 3);
    const transactions = new Map<string, string>();
    for (const c of used) transactions.set(c.coupon_id, await useInSimulator(c.coupon_id));
    for (const c of used) {
      await expect
        .poll(async () => (await coupon(c.coupon_id)).body.state, { timeout: 30_000, interval: 250 })
        .toBe("USED");
      const body = (await coupon(c.coupon_id)).body;
      expect(body).toMatchObject({
        issued_by_service: true,
        transaction_ids: [transactions.get(c.coupon_id)],
        used_amount: 100,
        coupon_amount: 100,
        consume_mchid: stack.mchid,
      });
      expect(body.history.map((h) => h.state)).toEqual(["SENT", "USED"]);
    }

    await expect
      .poll(async () => (await couponsOf(campaignId, "?state=USED")).data.length, { timeout: 10_000, interval: 250 })
      .toBe(3);
    expect((await couponsOf(campaignId, "?state=SENT")).data.map((c) => c.coupon_id).sort()).toEqual(
      sent
        .slice(3)
        .map((c) => c.coupon_id)
        .sort(),
    );
    expect((await couponsOf(campaignId, "?state=EXPIRED")).data).toEqual([]);
    const firstUse = (await coupon(used[0]!.coupon_id)).body.used_at!;
    const window = `?used_from=${encodeURIComponent(new Date(Date.parse(firstUse) - 60_000).toISOString())}&used_to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    expect((await couponsOf(campaignId, window)).data).toHaveLength(3);
    const paged = await couponsOf(campaignId, "?limit=4");
    expect(paged.data).toHaveLength(4);
    expect((await couponsOf(campaignId, `?limit=4&cursor=${paged.cursor}`)).data).toHaveLength(2);

    const before = await report(campaignId);
    expect(before).toMatchObject({
      campaign_id: campaignId,
      stock_id: stockId,
      recipients: 6,
      sent: 6,
      failed: 0,
      used: 3,
      used_amount: 300,
      redemption_rate: 0.5,
      first_used_at: expect.any(String),
    });
    expect(before.uses_by_day.reduce((sum, d) => sum + d.uses, 0)).toBe(3);
    expect(before.time_to_use.median_seconds).toBeGreaterThanOrEqual(0);

    // WeChat delivers the same notification again (re-signed, as each redelivery is): nothing changes.
    const first = delivered.find((d) => d.status === 204 && d.body.includes('"COUPON.USE"'))!;
    const records = await Promise.all(used.map(async (c) => (await coupon(c.coupon_id)).body));
    const again = await deliverNotification(stack, { body: first.body, headers: signatureHeaders(stack, first.body) });
    expect(again.status).toBe(204);
    // And the same use under another notification id: the coupon's state change is idempotent too.
    const [couponId, transactionId] = [...transactions][0]!;
    const sameUse = signedNotification(stack, {
      id: "EV-lifecycle-same-use",
      couponId,
      stockId,
      resource: {
        normal_coupon_information: { coupon_amount: 100, transaction_minimum: 200 },
        consume_information: { consume_time: firstUse, consume_mchid: stack.mchid, transaction_id: transactionId },
      },
    });
    expect((await deliverNotification(stack, sameUse)).status).toBe(204);
    expect(await Promise.all(used.map(async (c) => (await coupon(c.coupon_id)).body))).toEqual(records);
    expect(await report(campaignId)).toEqual(before);
  }, 120_000);

  it("reads an unused coupon EXPIRED once its stock's window has passed", async () => {
    // A stock whose window closes a few seconds after it opens (end − begin ≥ 1 s: R4).
    const body = validStockBody("it-lifecycle-short", stack.mchid);
    const begin = Date.now() + 1_000;
    body.available_begin_time = chinaTime(begin);
    body.available_end_time = chinaTime(begin + 6_000);
    const created = await callApi<{ stock_id: string }>(stack, "POST", "/stocks", body);
    expect(created.status).toBe(201);
    const shortStock = created.body.stock_id;
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await callApi(stack, "POST", `/stocks/${shortStock}/start`)).status).toBe(200);
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: shortStock,
      openids: ["o-expiring-1", "o-expiring-2"],
    });
    const campaignId = posted.body.campaign_id;
    await expect
      .poll(async () => (await couponsOf(campaignId, "?state=SENT")).data.length, { timeout: 30_000, interval: 250 })
      .toBe(2);
    const [first] = (await couponsOf(campaignId)).data;
    // The window's end is whole seconds (RFC 3339 as WeChat writes it): wait past it.
    await new Promise((r) => setTimeout(r, Math.max(0, begin + 7_000 - Date.now())));
    expect((await coupon(first!.coupon_id)).body).toMatchObject({ state: "EXPIRED", history: [{ state: "SENT" }] });
    expect((await couponsOf(campaignId, "?state=EXPIRED")).data).toHaveLength(2);
    expect((await couponsOf(campaignId, "?state=SENT")).data).toEqual([]);
  }, 60_000);

  it("records a use of a coupon this service did not issue, and answers 404 for one it never heard of", async () => {
    const stranger = signedNotification(stack, {
      id: "EV-lifecycle-stranger",
      couponId: "77000000001",
      stockId,
      resource: {
        normal_coupon_information: { coupon_amount: 100, transaction_minimum: 200 },
        consume_information: {
          consume_time: "2026-12-01T10:00:00+08:00",
          consume_mchid: stack.mchid,
          transaction_id: "4200000000000000000000077001",
        },
      },
    });
    expect((await deliverNotification(stack, stranger)).status).toBe(204);
    expect((await coupon("77000000001")).body).toMatchObject({
      state: "USED",
      issued_by_service: false,
      transaction_ids: ["4200000000000000000000077001"],
      used_at: "2026-12-01T02:00:00.000Z",
    });
    const unknown = await callApi(stack, "GET", "/coupons/77000000002");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: "COUPON_NOT_FOUND", field: "coupon_id" });
    expect((await callApi(stack, "GET", "/campaigns/no-such-campaign/report")).status).toBe(404);
    const bad = await callApi(
      stack,
      "GET",
      "/campaigns/no-such-campaign/coupons?state=SENT&used_from=2026-12-01T00:00:00Z",
    );
    expect(bad.status).toBe(400);
  });
});
