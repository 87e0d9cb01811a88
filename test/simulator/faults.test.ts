import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { control } from "./helpers/client.js";
import { type Harness, runningStock, sendBody, sendUrl, startHarness } from "./helpers/setup.js";

describe("fault injection", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ endpointRateLimits: false });
  });
  afterAll(() => h.sim.stop());

  it("fails roughly error_rate of the calls with retryable faults, and stops at 0", async () => {
    const set = await control(h.sim.url, "POST", "/faults", { error_rate: 0.2, kinds: ["500", "429"] });
    expect(set.status).toBe(200);
    const statuses: number[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 40 }, () => h.client.get("/v3/certificates")));
      statuses.push(...answers.map((a) => a.status));
    }
    const failed = statuses.filter((s) => s !== 200);
    expect(failed.every((s) => s === 500 || s === 429)).toBe(true);
    // 400 calls at 0.2: mean 80, sd 8
    expect(failed.length).toBeGreaterThan(40);
    expect(failed.length).toBeLessThan(120);
    expect(h.sim.stats().faults_injected).toBe(failed.length);
    await control(h.sim.url, "POST", "/faults", { error_rate: 0 });
    const after = await Promise.all(Array.from({ length: 50 }, () => h.client.get("/v3/certificates")));
    expect(after.every((a) => a.status === 200)).toBe(true);
  });

  it("answers faults in WeChat's error shape", async () => {
    await control(h.sim.url, "POST", "/faults", { error_rate: 1, kinds: ["500"] });
    const res = await h.client.get("/v3/certificates");
    await control(h.sim.url, "POST", "/faults", { error_rate: 0 });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ code: "SYSTEM_ERROR", message: "系统异常，请用相同参数重新调用" });
  });

  it("'before' faults on a send issue no coupon; 'after' faults issue it and a retry gets the same coupon_id", async () => {
    const stockId = await runningStock(h);
    await control(h.sim.url, "POST", "/faults", { error_rate: 1, kinds: ["500"], phase: "before" });
    const before = sendBody(h, stockId);
    expect((await h.client.post(sendUrl("oFault"), before)).status).toBe(500);
    expect(h.sim.ledger().filter((r) => r.out_request_no === before.out_request_no)).toHaveLength(0);
    await control(h.sim.url, "POST", "/faults", { error_rate: 1, kinds: ["429"], phase: "after" });
    const after = sendBody(h, stockId);
    expect((await h.client.post(sendUrl("oFault"), after)).status).toBe(429);
    const issued = h.sim.ledger().filter((r) => r.out_request_no === after.out_request_no);
    expect(issued).toHaveLength(1);
    await control(h.sim.url, "POST", "/faults", { error_rate: 0 });
    const retry = await h.client.post(sendUrl("oFault"), after);
    expect(retry.json.coupon_id).toBe(issued[0]!.coupon_id);
  });

  it("limits faults to the routes named: sends fail while the user-coupon query answers", async () => {
    const stockId = await runningStock(h);
    await control(h.sim.url, "POST", "/faults", { error_rate: 1, kinds: ["500"], routes: ["send-coupon"] });
    const send = sendBody(h, stockId);
    expect((await h.client.post(sendUrl("oRoutes"), send)).status).toBe(500);
    const listed = await h.client.get(
      `/v3/marketing/favor/users/oRoutes/coupons?appid=${send.appid}&creator_mchid=${send.stock_creator_mchid}`,
    );
    expect((await control(h.sim.url, "GET", "/faults")).json).toMatchObject({ routes: ["send-coupon"] });
    await control(h.sim.url, "POST", "/faults", { error_rate: 0 });
    expect(listed.status).toBe(200);
    expect((await control(h.sim.url, "GET", "/faults")).json).not.toHaveProperty("routes");
  });

  it("holds a 'timeout' fault past the client's timeout, then answers 500", async () => {
    await control(h.sim.url, "POST", "/faults", { error_rate: 1, kinds: ["timeout"], timeout_ms: 300 });
    const started = Date.now();
    const res = await h.client.get("/v3/certificates");
    await control(h.sim.url, "POST", "/faults", { error_rate: 0 });
    expect(res.status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(h.sim.stats().faults_by_kind.timeout).toBe(1);
  });

  it("rejects bad fault settings", async () => {
    expect((await control(h.sim.url, "POST", "/faults", { error_rate: 2 })).status).toBe(400);
    expect((await control(h.sim.url, "POST", "/faults", { error_rate: 0.1, kinds: ["boom"] })).status).toBe(400);
    expect((await control(h.sim.url, "POST", "/faults", { error_rate: 0.1, phase: "during" })).status).toBe(400);
    expect((await control(h.sim.url, "POST", "/faults", { error_rate: 0.1, routes: [] })).status).toBe(400);
    expect((await control(h.sim.url, "POST", "/faults", { error_rate: 0.1, routes: "send-coupon" })).status).toBe(400);
    expect((await control(h.sim.url, "GET", "/faults")).json).toMatchObject({ error_rate: 0 });
  });
});
