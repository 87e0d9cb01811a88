import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDbRateCounter } from "../adapters/dynamodb/dynamodb-rate-counter.js";
import { MerchantRuntime } from "../adapters/wechatpay/merchant-runtime.js";
import type { ApiEnv, SendApiEnv } from "../config/env.js";
import { RateGovernor } from "../domain/rate/rate-governor.js";
import { createApiHandler, type RouteTable } from "../edges/http/api-handler.js";
import { ROUTES, type RouteTarget } from "../edges/http/routes.js";
import { logger } from "../observability/logger.js";
import { certificateCacheFor, createAwsAdapters, wechatpayOptions } from "./aws-adapters.js";

/**
 * What the two caller-facing HTTP functions (api, send-api) build the same way; each composition root
 * (build-api-function.ts, build-send-api-function.ts) adds the routes it serves.
 */
export function httpFunctionParts(env: ApiEnv | SendApiEnv) {
  const aws = createAwsAdapters(env);
  const merchantRuntime = (options: { retryRateLimited?: false } = {}) =>
    new MerchantRuntime({
      secrets: aws.secrets,
      ...certificateCacheFor(env, aws.table),
      wechatpay: { ...wechatpayOptions(env), ...options },
    });
  return {
    aws,
    merchantRuntime,
    // The merchant-wide send budget held in the table, shared with the send worker (rate-governor.ts).
    governor: new RateGovernor(new DynamoDbRateCounter(aws.table), Date.now, (ms) => sleep(ms)),
    // A duplicate keyed request (POST /coupons, POST /stocks) waits this long for the first one before answering 409.
    inProgressWaitMs: 3_000,
  };
}

/**
 * The handler of the HTTP function `target`: its route table must be exactly the routes shared/edges/http/routes.ts
 * gives it (API Gateway's integrations and the local stack follow that table), checked at cold start so a route never
 * lands on a function that answers it 404.
 */
export function httpFunction(target: RouteTarget, routes: RouteTable) {
  const expected = ROUTES.filter((r) => r.target === target).map((r) => `${r.method} ${r.path}`);
  const served = Object.keys(routes);
  const missing = expected.filter((key) => !served.includes(key));
  const extra = served.filter((key) => !expected.includes(key));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`${target}: routes missing [${missing.join(", ")}], not its own [${extra.join(", ")}]`);
  }
  return createApiHandler(routes, logger);
}
