import { loadEnv, notifyEnvSchema } from "#shared/config/env.js";
import { buildNotifyFunction } from "#shared/runtime/build-notify-function.js";

/** WeChat Pay's webhook (public route): verify the raw body, decrypt, store once, publish, acknowledge. */
export const handler = buildNotifyFunction(loadEnv(notifyEnvSchema));
