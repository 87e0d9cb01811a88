import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "#local/stack/start-local-stack.js";

/** Starts the whole local stack in a fresh temp folder, quiet, with WeChat's notification retries compressed. */
export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({
    dataDir: mkdtempSync(join(tmpdir(), "wxcoupon-stack-")),
    ...options,
    simulator: { notifyRetryDelaysMs: [200, 400, 800, 1_600], ...options.simulator },
  });
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the local API with the stack's bearer token. */
export async function callApi<T = Record<string, unknown>>(
  stack: Pick<LocalStack, "apiUrl" | "token">,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiResponse<T>> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, headers: response.headers };
}

/** RFC 3339 in China time, as WeChat writes it. */
export function chinaTime(epochMs: number): string {
  const shifted = new Date(epochMs + 8 * 3_600_000).toISOString().slice(0, 19);
  return `${shifted}+08:00`;
}

/** A create-stock body that satisfies every rule of spec §3 (R1–R15). */
export function validStockBody(
  outRequestNo: string,
  mchid: string,
  overrides: { maxCoupons?: number; perUser?: number } = {},
) {
  const now = Date.now();
  const maxCoupons = overrides.maxCoupons ?? 100_000;
  return {
    stock_name: "新客立减",
    comment: "wxcoupon test",
    available_begin_time: chinaTime(now + 1_000),
    available_end_time: chinaTime(now + 30 * 86_400_000),
    stock_use_rule: {
      max_coupons: maxCoupons,
      max_amount: maxCoupons * 100,
      max_coupons_per_user: overrides.perUser ?? 5,
      natural_person_limit: false,
      prevent_api_abuse: false,
    },
    coupon_use_rule: {
      fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
      available_merchants: [mchid],
    },
    no_cash: false,
    stock_type: "NORMAL" as const,
    out_request_no: outRequestNo,
  };
}

/** Creates and starts a stock through the API; returns its id. */
export async function runningStock(
  stack: LocalStack,
  outRequestNo: string,
  overrides?: { maxCoupons?: number; perUser?: number },
): Promise<string> {
  const created = await callApi<{ stock_id: string }>(
    stack,
    "POST",
    "/stocks",
    validStockBody(outRequestNo, stack.mchid, overrides),
  );
  if (created.status !== 201) throw new Error(`create stock: ${created.status} ${JSON.stringify(created.body)}`);
  await new Promise((r) => setTimeout(r, 1_100)); // the stock's begin time is one second ahead
  const started = await callApi(stack, "POST", `/stocks/${created.body.stock_id}/start`);
  if (started.status !== 200) throw new Error(`start stock: ${started.status} ${JSON.stringify(started.body)}`);
  return created.body.stock_id;
}
