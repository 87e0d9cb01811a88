import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { buildOpenApiDocument } from "#shared/edges/http/openapi.js";
import { ROUTES } from "#shared/edges/http/routes.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import { responseSchemaFor } from "../../helpers/documented-responses.js";
import { callApi, runningStock, startTestStack, validStockBody } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let stockId: string;
let couponId: string;
const openid = "o-routes-user";
const seen = new Set<string>();

/** Calls a route and checks the answer against the OpenAPI document's schema for that route and status. */
async function documented(method: string, template: string, path: string, body?: unknown) {
  const response = await callApi(stack, method, path, body);
  const schema = responseSchemaFor(method, template, response.status);
  if (schema) {
    const checked = schema.safeParse(response.body);
    expect(checked.success, `${method} ${path} ${response.status}: ${JSON.stringify(checked.error?.issues)}`).toBe(
      true,
    );
  }
  seen.add(`${method} ${template}`);
  return response;
}

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

beforeAll(async () => {
  stack = await startTestStack();
  stockId = await runningStock(stack, "it-routes-stock");
  const sent = await callApi<{ coupon_id: string }>(stack, "POST", "/coupons", {
    stock_id: stockId,
    openid,
    out_request_no: "it-routes-send",
  });
  couponId = sent.body.coupon_id;
}, 60_000);
afterAll(async () => stack?.stop());

describe("every API route answers as its OpenAPI document says", () => {
  it("serves the OpenAPI document", async () => {
    const response = await documented("GET", "/openapi.json", "/openapi.json");
    expect(response.body).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it("creates a stock (201), replays it (200) and refuses a changed body (409)", async () => {
    const body = validStockBody("it-routes-stock-2", stack.mchid);
    expect((await documented("POST", "/stocks", "/stocks", body)).status).toBe(201);
    expect((await documented("POST", "/stocks", "/stocks", body)).body).toMatchObject({ replayed: true });
    const changed = await documented("POST", "/stocks", "/stocks", { ...body, stock_name: "另一个" });
    expect(changed).toMatchObject({ status: 409, body: { field: "out_request_no" } });
    const invalid = await documented("POST", "/stocks", "/stocks", {
      ...body,
      out_request_no: "it-bad",
      stock_use_rule: { ...body.stock_use_rule, max_amount: 1 },
    });
    expect(invalid).toMatchObject({ status: 400, body: { field: "stock_use_rule.max_amount" } });
  });

  it("reads stocks, their merchants and items", async () => {
    expect((await documented("GET", "/stocks", "/stocks?limit=5")).status).toBe(200);
    expect((await documented("GET", "/stocks/{stock_id}", `/stocks/${stockId}`)).body).toMatchObject({
      stock_id: stockId,
    });
    expect((await documented("GET", "/stocks/{stock_id}/merchants", `/stocks/${stockId}/merchants`)).status).toBe(200);
    expect((await documented("GET", "/stocks/{stock_id}/items", `/stocks/${stockId}/items`)).status).toBe(200);
    expect((await documented("GET", "/stocks/{stock_id}", "/stocks/999999999")).status).toBe(404);
  });

  it("pauses, restarts and refuses to stop a running stock", async () => {
    expect((await documented("POST", "/stocks/{stock_id}/pause", `/stocks/${stockId}/pause`)).status).toBe(200);
    expect((await documented("POST", "/stocks/{stock_id}/restart", `/stocks/${stockId}/restart`)).status).toBe(200);
    expect((await documented("POST", "/stocks/{stock_id}/stop", `/stocks/${stockId}/stop`)).status).toBe(400);
    const fresh = await callApi<{ stock_id: string }>(
      stack,
      "POST",
      "/stocks",
      validStockBody("it-routes-stock-3", stack.mchid),
    );
    expect((await documented("POST", "/stocks/{stock_id}/stop", `/stocks/${fresh.body.stock_id}/stop`)).status).toBe(
      200,
    );
    expect((await documented("POST", "/stocks/{stock_id}/start", `/stocks/${fresh.body.stock_id}/start`)).status).toBe(
      400,
    );
  });

  it("reads a user's coupons and one coupon", async () => {
    const list = await documented("GET", "/users/{openid}/coupons", `/users/${openid}/coupons`);
    expect(list.body).toMatchObject({ total_count: 1 });
    const one = await documented("GET", "/users/{openid}/coupons/{coupon_id}", `/users/${openid}/coupons/${couponId}`);
    expect(one.body).toMatchObject({ stock_id: stockId, status: "SENDED" });
  });

  it("sends with documented answers for success, replay, conflict and bad input", async () => {
    const request = { stock_id: stockId, openid: "o-routes-2", out_request_no: "it-routes-send-2" };
    expect((await documented("POST", "/coupons", "/coupons", request)).status).toBe(200);
    expect((await documented("POST", "/coupons", "/coupons", { ...request, openid: "o-routes-3" })).status).toBe(409);
    expect((await documented("POST", "/coupons", "/coupons", { ...request, stock_id: "abc" })).status).toBe(400);
    expect((await documented("GET", "/coupons/{coupon_id}/events", `/coupons/${couponId}/events`)).body).toEqual({
      data: [],
    });
  });

  it("downloads use and refund flows with their hash once WeChat serves them", async () => {
    const control = (path: string, body: unknown = {}) =>
      fetch(`${stack.simulatorUrl}/_simulator/${path}`, { method: "POST", body: JSON.stringify(body) });
    await control(`coupons/${couponId}/use`);
    await control(`coupons/${couponId}/refund`);
    // WeChat has no file before 10:00 (Beijing) the day after the stock ends (docs/wechatpay-cash-coupons.md)
    const early = await documented("GET", "/stocks/{stock_id}/use-flow", `/stocks/${stockId}/use-flow`);
    expect(early.status).toBe(404);
    expect(early.body).toMatchObject({ code: "RESOURCE_NOT_EXISTS" });
    const stock = await callApi<{ available_end_time: string }>(stack, "GET", `/stocks/${stockId}`);
    await control("clock", { set: new Date(flowFilesAvailableAt(stock.body.available_end_time)).toISOString() });
    try {
      const use = await documented("GET", "/stocks/{stock_id}/use-flow", `/stocks/${stockId}/use-flow`);
      expect(use.body).toMatchObject({ hash_type: "SHA1", total_count: 1, rows: [{ coupon_id: couponId }] });
      const refund = await documented("GET", "/stocks/{stock_id}/refund-flow", `/stocks/${stockId}/refund-flow`);
      expect(refund.body).toMatchObject({ total_count: 1, rows: [{ coupon_id: couponId }] });
    } finally {
      await control("clock", { offset_ms: 0 });
    }
  });

  it("queues a test event for the HTTP event consumers (202) and refuses a bad body (400)", async () => {
    const sent = await documented("POST", "/webhooks/test", "/webhooks/test", { message: "ping" });
    expect(sent).toMatchObject({ status: 202, body: { detail_type: "webhook.test" } });
    expect((await documented("POST", "/webhooks/test", "/webhooks/test", { message: 1 })).status).toBe(400);
  });

  it("reads and sets the callback URL, uploads an image", async () => {
    const current = await documented("GET", "/callbacks", "/callbacks");
    expect(current.body).toMatchObject({ notify_url: `${stack.apiUrl}/notify/wechatpay` });
    expect(
      (await documented("POST", "/callbacks", "/callbacks", { notify_url: `${stack.apiUrl}/notify/wechatpay` })).status,
    ).toBe(200);
    expect(
      (await documented("POST", "/callbacks", "/callbacks", { notify_url: "https://x.example/cb?a=1" })).status,
    ).toBe(400);
    const image = await documented("POST", "/media/images", "/media/images", {
      filename: "logo.png",
      content_base64: PNG,
    });
    expect(image.body).toMatchObject({ media_url: expect.stringMatching(/^https:/) });
    expect(
      (await documented("POST", "/media/images", "/media/images", { filename: "logo.gif", content_base64: PNG }))
        .status,
    ).toBe(400);
  });

  it("creates a campaign and reports it", async () => {
    const posted = await documented("POST", "/campaigns", "/campaigns", {
      stock_id: stockId,
      openids: ["o-r-1", "o-r-2"],
    });
    expect(posted.status).toBe(202);
    const campaignId = (posted.body as { campaign_id: string }).campaign_id;
    await expect
      .poll(async () => (await documented("GET", "/campaigns/{campaign_id}", `/campaigns/${campaignId}`)).body.state, {
        timeout: 10_000,
      })
      .toBe("COMPLETED");
    expect((await documented("GET", "/campaigns/{campaign_id}", "/campaigns/unknown")).status).toBe(404);
    const coupons = "/campaigns/{campaign_id}/coupons";
    await expect
      .poll(async () => (await documented("GET", coupons, `/campaigns/${campaignId}/coupons`)).body.data, {
        timeout: 10_000,
      })
      .toHaveLength(2);
    expect((await documented("GET", coupons, `/campaigns/${campaignId}/coupons?state=USED&limit=1`)).status).toBe(200);
    expect((await documented("GET", coupons, `/campaigns/${campaignId}/coupons?state=GONE`)).status).toBe(400);
    expect((await documented("GET", coupons, "/campaigns/unknown/coupons")).status).toBe(404);
    const report = "/campaigns/{campaign_id}/report";
    expect((await documented("GET", report, `/campaigns/${campaignId}/report`)).body).toMatchObject({
      recipients: 2,
      sent: 2,
      used: 0,
    });
    expect((await documented("GET", report, "/campaigns/unknown/report")).status).toBe(404);
    const exports = "/campaigns/{campaign_id}/exports";
    const started = await documented("POST", exports, `/campaigns/${campaignId}/exports`, { what: "coupons" });
    expect(started).toMatchObject({ status: 202, body: { what: "coupons", state: "PENDING" } });
    expect((await documented("POST", exports, `/campaigns/${campaignId}/exports`, { what: "x" })).status).toBe(400);
    expect((await documented("POST", exports, "/campaigns/unknown/exports", { what: "failures" })).status).toBe(404);
    const one = "/campaigns/{campaign_id}/exports/{export_id}";
    await expect
      .poll(
        async () =>
          (await documented("GET", one, `/campaigns/${campaignId}/exports/${started.body.export_id}`)).body.state,
        {
          timeout: 30_000,
        },
      )
      .toBe("COMPLETED");
    const missing = `/campaigns/${campaignId}/exports/exp_aaaaaaaaaaaaaaaaaaaaaaaa`;
    expect((await documented("GET", one, missing)).status).toBe(404);
  });

  it("reads a coupon's lifecycle", async () => {
    const lifecycle = await documented("GET", "/coupons/{coupon_id}", `/coupons/${couponId}`);
    // Used in the simulator by the flows case above: SENT, or USED once its COUPON.USE arrived.
    expect(lifecycle.body).toMatchObject({
      coupon_id: couponId,
      issued_by_service: true,
      out_request_no: "it-routes-send",
    });
    expect(["SENT", "USED"]).toContain(lifecycle.body.state);
    expect((await documented("GET", "/coupons/{coupon_id}", "/coupons/1")).status).toBe(404);
    expect((await documented("GET", "/coupons/{coupon_id}", "/coupons/not-digits")).status).toBe(400);
  });

  it("takes a chunked campaign chunk by chunk and lists its failures", async () => {
    const opened = await documented("POST", "/campaigns", "/campaigns", {
      campaign_id: "it-routes-chunked",
      stock_id: stockId,
      chunked: true,
    });
    expect(opened).toMatchObject({ status: 202, body: { total: 0, sealed: false } });
    const chunks = "/campaigns/{campaign_id}/chunks";
    const path = "/campaigns/it-routes-chunked/chunks";
    expect(
      (await documented("POST", chunks, path, { chunk_no: 0, openids: ["o-c-1"], last: true })).body,
    ).toMatchObject({ sealed: true, total: 1 });
    expect((await documented("POST", chunks, path, { chunk_no: 0, openids: ["o-c-2"] })).status).toBe(409);
    expect((await documented("POST", chunks, path, { chunk_no: "0", openids: ["o-c-1"] })).status).toBe(400);
    expect(
      (await documented("POST", chunks, "/campaigns/unknown/chunks", { chunk_no: 0, openids: ["a"] })).status,
    ).toBe(404);
    const failures = "/campaigns/{campaign_id}/failures";
    expect((await documented("GET", failures, "/campaigns/it-routes-chunked/failures")).body).toEqual({ data: [] });
    expect((await documented("GET", failures, "/campaigns/unknown/failures")).status).toBe(404);
    // A cursor this list never returned is the caller's mistake (400 naming it), not a store error.
    const crafted = Buffer.from(JSON.stringify({ pk: "SEND#x", gsi1pk: "CAMPAIGN#other", gsi1sk: "x" })).toString(
      "base64url",
    );
    expect(await documented("GET", failures, `/campaigns/it-routes-chunked/failures?cursor=${crafted}`)).toMatchObject({
      status: 400,
      body: { field: "cursor" },
    });
  });

  it("lists, schedules, pauses, resumes and cancels campaigns", async () => {
    const posted = await documented("POST", "/campaigns", "/campaigns", {
      campaign_id: "it-routes-lifecycle",
      stock_id: stockId,
      openids: ["o-l-1"],
      start_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(posted).toMatchObject({ status: 202, body: { state: "SCHEDULED", state_reason: "scheduled" } });
    const list = await documented("GET", "/campaigns", `/campaigns?stock_id=${stockId}&state=SCHEDULED&limit=5`);
    expect(list.body).toMatchObject({ data: [{ campaign_id: "it-routes-lifecycle" }] });
    expect((await documented("GET", "/campaigns", "/campaigns?state=nope")).status).toBe(400);
    // While it is still scheduled: once cancelled, the sweeper completes it within a second here.
    const retry = (id: string, body: unknown) =>
      documented("POST", "/campaigns/{campaign_id}/retry", `/campaigns/${id}/retry`, body);
    expect(await retry("it-routes-lifecycle", { codes: ["NOT_ENOUGH"] })).toMatchObject({
      status: 409,
      body: { code: "CAMPAIGN_NOT_COMPLETED", field: "campaign_id" },
    });
    expect(await retry("it-routes-lifecycle", { codes: ["not a code"] })).toMatchObject({
      status: 400,
      body: { field: "codes.0" },
    });
    expect((await retry("unknown", { codes: ["NOT_ENOUGH"] })).status).toBe(404);
    const control = (action: string, id = "it-routes-lifecycle") =>
      documented("POST", `/campaigns/{campaign_id}/${action}`, `/campaigns/${id}/${action}`);
    expect(await control("pause")).toMatchObject({
      status: 200,
      body: { changed: true, campaign: { state: "PAUSED" } },
    });
    expect(await control("resume")).toMatchObject({ status: 200, body: { changed: true } });
    expect(await control("cancel")).toMatchObject({ status: 200, body: { campaign: { state_reason: "cancelled" } } });
    // The sweeper (every second here) may already have recorded its one unsent recipient CANCELLED: COMPLETED then.
    for (const action of ["pause", "resume"]) {
      const refused = await control(action);
      expect(refused.status).toBe(409);
      expect(["CAMPAIGN_CANCELLED", "CAMPAIGN_COMPLETED"]).toContain(refused.body.code);
    }
    expect((await control("cancel", "unknown")).status).toBe(404);
  });

  it("starts a reconciliation (202), reads it and its findings as JSON and CSV, and refuses bad ids", async () => {
    const started = await documented("POST", "/reconciliations", "/reconciliations", { stock_id: stockId });
    expect(started).toMatchObject({ status: 202, body: { stock_id: stockId, status: "RUNNING", trigger: "request" } });
    const id = String(started.body.reconciliation_id);
    expect(started.headers.get("location")).toBe(`/reconciliations/${id}`);
    const run = await documented("GET", "/reconciliations/{reconciliation_id}", `/reconciliations/${id}`);
    expect(run.body).toMatchObject({ reconciliation_id: id, rows_read: { use: 0, refund: 0 } });
    const findings = await documented(
      "GET",
      "/reconciliations/{reconciliation_id}/findings",
      `/reconciliations/${id}/findings?limit=10`,
    );
    expect(findings).toMatchObject({ status: 200, body: { data: [] } });
    const csv = await fetch(`${stack.apiUrl}/reconciliations/${id}/findings.csv`, {
      headers: { authorization: `Bearer ${stack.token}` },
    });
    const text = await csv.text();
    expect(csv.status).toBe(200);
    expect(
      responseSchemaFor("GET", "/reconciliations/{reconciliation_id}/findings.csv", 200)!.safeParse(text).success,
    ).toBe(true);
    expect(text).toBe("kind,flow,coupon_id,stock_id,transaction_id,at,amount,refund_id,campaign_id\r\n");
    seen.add("GET /reconciliations/{reconciliation_id}/findings.csv");
    expect(await documented("POST", "/reconciliations", "/reconciliations", { stock_id: "1/2" })).toMatchObject({
      status: 400,
      body: { field: "stock_id" },
    });
    expect(await documented("POST", "/reconciliations", "/reconciliations", {})).toMatchObject({ status: 400 });
    expect((await documented("GET", "/reconciliations/{reconciliation_id}", "/reconciliations/nope")).status).toBe(404);
    const unknownCsv = await callApi(stack, "GET", "/reconciliations/nope/findings");
    expect(unknownCsv).toMatchObject({ status: 404, body: { code: "RECONCILIATION_NOT_FOUND" } });
  });

  it("refuses callers without the token on every caller route, and lets WeChat reach the webhook", async () => {
    for (const route of ROUTES) {
      const response = await fetch(`${stack.apiUrl}${route.path.replace(/\{[^}]+\}/g, "1")}`, { method: route.method });
      const body = (await response.json()) as { code: string };
      if (route.auth === "caller")
        expect([response.status, body.code], `${route.method} ${route.path}`).toEqual([401, "UNAUTHORIZED"]);
      else expect(body.code).toBe("FAIL"); // reached the webhook, which refuses the unsigned request itself
    }
  });

  it("gives the send token the send and read routes, and answers 403 on every admin route without reaching it", async () => {
    const stocksBefore = stack.simulator.stats().stocks_created;
    for (const route of ROUTES.filter((r) => r.auth === "caller")) {
      const path = route.path.replace(/\{[^}]+\}/g, "1");
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method: route.method,
        headers: { authorization: `Bearer ${stack.sendToken}`, "content-type": "application/json" },
        ...(route.method === "POST" ? { body: "{}" } : {}),
      });
      const body = (await response.json()) as { code?: string };
      const label = `${route.method} ${route.path}`;
      if (route.access === "admin") expect([response.status, body.code], label).toEqual([403, "FORBIDDEN"]);
      else expect([401, 403], label).not.toContain(response.status);
    }
    expect(stack.simulator.stats().stocks_created).toBe(stocksBefore);
  });

  it("exercised every caller route (the api and send-api functions')", () => {
    const untested = ROUTES.filter((r) => r.auth === "caller" && !seen.has(`${r.method} ${r.path}`)).map(
      (r) => `${r.method} ${r.path}`,
    );
    expect(untested).toEqual([]);
  });
});
