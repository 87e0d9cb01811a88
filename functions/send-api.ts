import { loadEnv, sendApiEnvSchema } from "#shared/config/env.js";
import { buildSendApiFunction } from "#shared/runtime/build-send-api-function.js";

/** The one-off send (POST /coupons), in execution environments of its own (shared/edges/http/routes.ts). */
export const handler = buildSendApiFunction(loadEnv(sendApiEnvSchema));
