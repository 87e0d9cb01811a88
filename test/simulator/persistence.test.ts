import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSimulatorCommand } from "#local/simulator/cli.js";
import { startSimulator } from "#local/simulator/index.js";
import { control, TestClient } from "./helpers/client.js";
import { APPID, type Harness, runningStock, sendBody, sendUrl, startHarness } from "./helpers/setup.js";

const lines = async (path: string) => (await readFile(path, "utf8")).split("\n").filter(Boolean).length;

describe("persistence with a stateDir", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "wxsim-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("generates keys and simulator.json on first start and keeps state across a restart", async () => {
    const first: Harness = await startHarness({ stateDir: dir });
    const configPath = join(dir, "simulator.json");
    const file = JSON.parse(await readFile(configPath, "utf8"));
    expect(file).toMatchObject({
      base_url: first.sim.url,
      mchid: "1900000001",
      appid: APPID,
      merchant_serial_no: expect.stringMatching(/^[0-9A-F]{40}$/),
      merchant_private_key: join(dir, "merchant_private_key.pem"),
      apiv3_key: expect.stringMatching(/^[0-9A-Za-z]{32}$/),
      wechatpay_public_key_id: expect.stringMatching(/^PUB_KEY_ID_0114\d{30}$/),
      wechatpay_public_key: join(dir, "wechatpay_public_key.pem"),
      platform_certificate_serial: expect.stringMatching(/^[0-9A-F]{40}$/),
      platform_certificate: join(dir, "platform_certificate.pem"),
      mode: "platform_certificate",
    });
    for (const name of [
      "merchant_private_key.pem",
      "platform_private_key.pem",
      "wechatpay_private_key.pem",
      "simulator.json",
    ])
      expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
    expect(await readFile(file.merchant_private_key, "utf8")).toBe(first.sim.config.keys.merchantPrivateKeyPem);

    const stockId = await runningStock(first);
    const body = sendBody(first, stockId);
    const journal = join(dir, "journal.jsonl");
    const before = await lines(journal);
    const couponId = (await first.client.post(sendUrl("oPersist"), body)).json.coupon_id;
    expect(await lines(journal)).toBe(before + 1); // one appended line per send, no rewrite
    await first.client.post("/v3/marketing/favor/callbacks", {
      mchid: first.mchid,
      notify_url: "https://m.example.com/n",
    });
    await control(first.sim.url, "POST", "/users", { openid: "oRiskyPersist", risky: true });
    await control(first.sim.url, "POST", "/clock", { advance_seconds: 60 });
    await first.sim.stop();

    const second = await startSimulator({ port: 0, stateDir: dir });
    try {
      expect(second.config.merchant_serial_no).toBe(file.merchant_serial_no);
      expect(second.config.apiv3_key).toBe(file.apiv3_key);
      // a client configured from simulator.json alone works
      const fromFile = JSON.parse(await readFile(configPath, "utf8"));
      expect(fromFile.base_url).toBe(second.url);
      const { createPrivateKey } = await import("node:crypto");
      const client = new TestClient(fromFile.base_url, {
        mchid: fromFile.mchid,
        serialNo: fromFile.merchant_serial_no,
        privateKey: createPrivateKey(await readFile(fromFile.merchant_private_key, "utf8")),
      });
      const detail = await client.get(`/v3/marketing/favor/users/oPersist/coupons/${couponId}?appid=${APPID}`);
      expect(detail.status).toBe(200);
      expect(detail.json.stock_id).toBe(stockId);
      expect((await client.post(sendUrl("oPersist"), body)).json.coupon_id).toBe(couponId);
      expect(second.ledger()).toHaveLength(1);
      expect(second.stats().coupons_issued).toBe(1);
      const stock = await client.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${fromFile.mchid}`);
      expect(stock.json).toMatchObject({ status: "running", distributed_coupons: 1 });
      expect((await client.get(`/v3/marketing/favor/callbacks?mchid=${fromFile.mchid}`)).json.notify_url).toBe(
        "https://m.example.com/n",
      );
      expect((await control(second.url, "GET", "/clock")).json.offset_ms).toBe(60_000);
      const next = (await client.post(sendUrl("oPersist2"), sendBody({ mchid: fromFile.mchid } as Harness, stockId)))
        .json.coupon_id;
      expect(Number(next)).toBeGreaterThan(Number(couponId));

      await second.reset();
      expect(second.ledger()).toHaveLength(0);
      expect(
        (await client.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${fromFile.mchid}`)).status,
      ).toBe(404);
    } finally {
      await second.stop();
    }

    const third = await startSimulator({ port: 0, stateDir: dir, mode: "public_key" });
    try {
      expect(third.ledger()).toHaveLength(0);
      expect(third.config.mode).toBe("public_key");
      expect(JSON.parse(await readFile(configPath, "utf8")).mode).toBe("public_key");
      const config = await control(third.url, "GET", "/config");
      expect(config.json).toMatchObject({ base_url: third.url, mode: "public_key", mchid: "1900000001" });
      expect(JSON.stringify(config.json)).not.toContain("BEGIN");
    } finally {
      await third.stop();
    }
  });
});

describe("reset and stats", () => {
  it("POST /_simulator/reset clears stocks, coupons and counters", async () => {
    const h = await startHarness();
    try {
      const stockId = await runningStock(h);
      await h.client.post(sendUrl("oReset"), sendBody(h, stockId));
      const stats = (await control(h.sim.url, "GET", "/stats")).json;
      expect(stats).toMatchObject({ coupons_issued: 1, send_requests: 1, stocks_created: 1 });
      expect(stats).toHaveProperty("notifications_sent");
      expect(stats).toHaveProperty("notifications_acknowledged");
      expect((await control(h.sim.url, "POST", "/reset")).status).toBe(200);
      expect((await control(h.sim.url, "GET", "/stats")).json).toMatchObject({ coupons_issued: 0, send_requests: 0 });
      expect((await control(h.sim.url, "GET", "/ledger")).json.total_count).toBe(0);
      expect((await h.client.get(`/v3/marketing/favor/stocks/${stockId}?stock_creator_mchid=${h.mchid}`)).status).toBe(
        404,
      );
      expect((await control(h.sim.url, "GET", "/nothing")).status).toBe(404);
    } finally {
      await h.sim.stop();
    }
  });
});

describe("simulator command", () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it("prints usage and exits non-zero on bad arguments, without a stack trace", async () => {
    for (const argv of [
      [],
      ["--port", "x", "--state-dir", "/tmp/a"],
      ["--port", "0"],
      ["--port", "0", "--state-dir", "/tmp/a", "--mode", "sm2"],
      ["--nope"],
    ]) {
      const captured = io();
      expect(await runSimulatorCommand(argv, captured.io)).toBe(2);
      expect(captured.err.join("\n")).toContain("usage: wxcoupon simulator");
      expect(captured.err.join("\n")).not.toMatch(/\n\s+at /);
    }
  });

  it("starts, prints the URL and config path, and stops on SIGTERM", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wxsim-cli-"));
    try {
      const captured = io();
      const running = runSimulatorCommand(["--port", "0", "--state-dir", dir, "--mode", "public_key"], captured.io);
      await expect.poll(() => captured.out.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(captured.out[0]).toMatch(/^WeChat Pay simulator: http:\/\/127\.0\.0\.1:\d+$/);
      expect(captured.out[1]).toBe(`config: ${join(dir, "simulator.json")}`);
      process.emit("SIGTERM");
      expect(await running).toBe(0);
      expect(captured.err.join("\n")).not.toContain("PRIVATE KEY");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
