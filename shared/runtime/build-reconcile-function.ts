import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { DynamoDbCouponStore } from "../adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbReconciliationStore } from "../adapters/dynamodb/dynamodb-reconciliation-store.js";
import { MerchantRuntime } from "../adapters/wechatpay/merchant-runtime.js";
import { WechatStockEndTimes } from "../adapters/wechatpay/stock-end-times.js";
import { WechatFlowSource } from "../adapters/wechatpay/wechat-flow-source.js";
import type { ReconcileEnv } from "../config/env.js";
import { type JobSummary, runReconciliationJob } from "../domain/reconciliation/reconciliation-job.js";
import { logger } from "../observability/logger.js";
import { certificateCacheFor, createAwsAdapters, wechatpayOptions } from "./aws-adapters.js";

/**
 * A run holds its lease this long: more than the function's 15-minute maximum
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html), so an invocation still holding it is
 * dead, never slow.
 */
const RUN_LEASE_MS = 16 * 60_000;

/**
 * Composition root of the reconcile function (invoked by its schedule): stocks whose flow files WeChat serves get a
 * run, and running runs advance until the invocation nears its timeout (they resume from their checkpoint on the next).
 */
export function buildReconcileFunction(env: ReconcileEnv) {
  const aws = createAwsAdapters(env);
  const merchant = new MerchantRuntime({
    secrets: aws.secrets,
    ...certificateCacheFor(env, aws.table),
    wechatpay: wechatpayOptions(env),
  });
  const deps = {
    runs: new DynamoDbReconciliationStore(aws.table),
    coupons: new DynamoDbCouponStore(aws.table),
    flows: new WechatFlowSource(merchant, new WechatStockEndTimes(merchant)),
    clock: Date.now,
    leaseMs: RUN_LEASE_MS,
    pollMs: env.RECONCILE_POLL_SECONDS * 1000,
    newId: randomUUID,
  };
  return async (_event: unknown, context: Pick<Context, "getRemainingTimeInMillis">): Promise<JobSummary> => {
    const margin = env.RECONCILE_STOP_MARGIN_SECONDS * 1000;
    const summary = await runReconciliationJob(deps, () => context.getRemainingTimeInMillis() < margin);
    logger.info("reconciliation job", { ...summary });
    if (Object.keys(summary.stockErrors).length > 0) logger.warn("stocks not checked", { errors: summary.stockErrors });
    return summary;
  };
}
