import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack();
  stockId = await runningStock(stack, "it-stock-1");
}, 60_000);
afterAll(async () => stack?.stop());

describe("coupons through the local stack", () => {
  it("sends a coupon and replays it for the same out_request_no", async () => {
    const request = { stock_id: stockId, openid: "o-flow-user-1", out_request_no: "it-send-1" };
    const first = await callApi(stack, "POST", "/coupons", request);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ out_request_no: "it-send-1", replayed: false });
    const again = await callApi(stack, "POST", "/coupons", request);
    expect(again.body).toEqual({ ...first.body, replayed: true });
    const conflict = await callApi(stack, "POST", "/coupons", { ...request, openid: "o-flow-user-2" });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ code: "OUT_REQUEST_NO_CONFLICT", field: "out_request_no" });
    expect(stack.simulator.ledger().filter((c) => c.out_request_no === "it-send-1")).toHaveLength(1);
  });

  it("issues exactly one coupon for 50 concurrent identical sends", async () => {
    const request = { stock_id: stockId, openid: "o-flow-user-3", out_request_no: "it-concurrent-1" };
    const responses = await Promise.all(Array.from({ length: 50 }, () => callApi(stack, "POST", "/coupons", request)));
    const ids = new Set(responses.filter((r) => r.status === 200).map((r) => r.body.coupon_id));
    expect(ids.size).toBe(1);
    expect(responses.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(stack.simulator.ledger().filter((c) => c.out_request_no === "it-concurrent-1")).toHaveLength(1);
  });

  it("stores a used coupon's notification once although WeChat delivers it several times", async () => {
    const sent = await callApi<{ coupon_id: string }>(stack, "POST", "/coupons", {
      stock_id: stockId,
      openid: "o-flow-user-4",
      out_request_no: "it-use-1",
    });
    const used = await fetch(`${stack.simulatorUrl}/_simulator/coupons/${sent.body.coupon_id}/use`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ transaction_id: "4200000000000000000000000042" }),
    });
    expect(used.status).toBe(200);
    await expect
      .poll(
        async () =>
          (await callApi<{ data: unknown[] }>(stack, "GET", `/coupons/${sent.body.coupon_id}/events`)).body.data.length,
        {
          timeout: 10_000,
        },
      )
      .toBe(1);
    const events = await callApi<{ data: { event_type: string; resource: { status: string } }[] }>(
      stack,
      "GET",
      `/coupons/${sent.body.coupon_id}/events`,
    );
    expect(events.body.data[0]).toMatchObject({ event_type: "COUPON.USE", resource: { status: "USED" } });
  });

  it("answers bad input with 400 naming the field", async () => {
    const missing = await callApi(stack, "POST", "/coupons", { stock_id: stockId, openid: "o-x" });
    expect(missing).toMatchObject({ status: 400, body: { code: "INVALID_ARGUMENT", field: "out_request_no" } });
    const malformed = await callApi(stack, "POST", "/coupons", "{not json");
    expect(malformed).toMatchObject({ status: 400, body: { code: "INVALID_JSON", field: "body" } });
    const unknownField = await callApi(stack, "POST", "/coupons", {
      stock_id: stockId,
      openid: "o-x",
      out_request_no: "x1",
      extra: 1,
    });
    expect(unknownField).toMatchObject({ status: 400, body: { field: "extra" } });
  });
});
