import { loadEnv, sweeperEnvSchema } from "#shared/config/env.js";
import { buildSweeperFunction } from "#shared/runtime/build-sweeper-function.js";

/** Scheduled every minute: campaigns finish from durable state (lost sends queued again, exact counters, COMPLETED). */
export const handler = buildSweeperFunction(loadEnv(sweeperEnvSchema));
