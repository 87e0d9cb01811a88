import { loadEnv, reconcileEnvSchema } from "#shared/config/env.js";
import { buildReconcileFunction } from "#shared/runtime/build-reconcile-function.js";

/** Scheduled: reconciles WeChat's use and refund flow files of ended stocks with the coupon records. */
export const handler = buildReconcileFunction(loadEnv(reconcileEnvSchema));
