import { apiEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildApiFunction } from "#shared/runtime/build-api-function.js";

/**
 * The caller-facing HTTP API: stocks, coupon reads, campaigns, callbacks, media (IAM/JWT-authorized routes); the one-off
 * send (POST /coupons) is the send-api function's.
 */
export const handler = buildApiFunction(loadEnv(apiEnvSchema));
