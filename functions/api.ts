import { apiEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildApiFunction } from "#shared/runtime/build-api-function.js";

/** The caller-facing HTTP API: stocks, coupons, campaigns, callbacks, media (IAM/JWT-authorized routes). */
export const handler = buildApiFunction(loadEnv(apiEnvSchema));
