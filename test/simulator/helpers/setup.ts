import { type RunningSimulator, type SimulatorOptions, startSimulator } from "#local/simulator/index.js";
import { TestClient } from "./client.js";

export const APPID = "wxd678efh567hg6787";

export interface Harness {
  sim: RunningSimulator;
  client: TestClient;
  mchid: string;
}

/** Starts an in-memory simulator on a free port with a signed client for its primary merchant. */
export async function startHarness(options: SimulatorOptions = {}): Promise<Harness> {
  const sim = await startSimulator({ port: 0, ...options });
  const client = new TestClient(
    sim.url,
    {
      mchid: sim.config.mchid,
      serialNo: sim.config.merchant_serial_no,
      privateKey: sim.config.keys.merchantPrivateKey,
    },
    options.now,
  );
  return { sim, client, mchid: sim.config.mchid };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+00:00");

let counter = 0;
export const uniqueNo = (prefix = "REQ") => `${prefix}${Date.now()}${++counter}`;

/** A valid E1 body (10 coupons of 1.00 yuan, min order 2.00) starting now. */
export function stockBody(mchid: string, overrides: Record<string, unknown> = {}, now = Date.now()) {
  return {
    stock_name: "测试代金券",
    comment: "simulator test",
    belong_merchant: mchid,
    available_begin_time: iso(now),
    available_end_time: iso(now + 30 * 86_400_000),
    stock_use_rule: {
      max_coupons: 10,
      max_amount: 1000,
      max_coupons_per_user: 3,
      natural_person_limit: false,
      prevent_api_abuse: false,
    },
    pattern_info: { description: "微信支付营销" },
    coupon_use_rule: {
      fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
      available_merchants: [mchid],
    },
    no_cash: false,
    stock_type: "NORMAL",
    out_request_no: uniqueNo("STOCK"),
    ...overrides,
  };
}

/** Creates and starts a stock; returns its id. */
export async function runningStock(h: Harness, overrides: Record<string, unknown> = {}): Promise<string> {
  const created = await h.client.post(
    "/v3/marketing/favor/coupon-stocks",
    stockBody(h.mchid, overrides, h.client.now()),
  );
  if (created.status !== 200) throw new Error(`create failed: ${created.text}`);
  const stockId = created.json.stock_id as string;
  const started = await h.client.post(`/v3/marketing/favor/stocks/${stockId}/start`, { stock_creator_mchid: h.mchid });
  if (started.status !== 200) throw new Error(`start failed: ${started.text}`);
  return stockId;
}

export function sendBody(h: Harness, stockId: string, overrides: Record<string, unknown> = {}) {
  return {
    stock_id: stockId,
    out_request_no: uniqueNo("SEND"),
    appid: APPID,
    stock_creator_mchid: h.mchid,
    ...overrides,
  };
}

export const sendUrl = (openid: string) => `/v3/marketing/favor/users/${openid}/coupons`;
