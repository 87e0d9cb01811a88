import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "#local/stack/start-local-stack.js";
import { validStockBody } from "./stock-body.js";

/** Starts the whole local stack in a fresh temp folder, quiet, with WeChat's nine notification attempts 400 ms apart. */
export async function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({
    dataDir: mkdtempSync(join(tmpdir(), "wxcoupon-stack-")),
    // The sweeper and the reconciliation every second rather than every minute: campaigns past the worker's inline
    // recount complete in seconds (the sweeper's stall stays the template's unless a test sets sweeperStallSeconds).
    // cert-refresh keeps its 12 h: it calls WeChat, which tests count.
    scheduleIntervalSeconds: { sweeper: 1, reconcile: 1 },
    ...options,
    simulator: { notifyRetryIntervalMs: 400, ...options.simulator },
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

export { chinaTime, validStockBody } from "./stock-body.js";

/** Creates and starts a stock through the API; returns its id. */
export async function runningStock(
  stack: Pick<LocalStack, "apiUrl" | "token" | "mchid">,
  outRequestNo: string,
  overrides?: { maxCoupons?: number; perUser?: number; preventApiAbuse?: boolean },
): Promise<string> {
  const body = validStockBody(outRequestNo, stack.mchid, overrides);
  const created = await callApi<{ stock_id: string }>(stack, "POST", "/stocks", body);
  if (created.status !== 201) throw new Error(`create stock: ${created.status} ${JSON.stringify(created.body)}`);
  // Started once its begin time (the next whole second: RFC 3339 here carries seconds) has passed, not a fixed second.
  const untilBegun = Date.parse(body.available_begin_time) + 50 - Date.now();
  if (untilBegun > 0) await new Promise((r) => setTimeout(r, untilBegun));
  const started = await callApi(stack, "POST", `/stocks/${created.body.stock_id}/start`);
  if (started.status !== 200) throw new Error(`start stock: ${started.status} ${JSON.stringify(started.body)}`);
  return created.body.stock_id;
}
