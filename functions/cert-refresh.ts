import { certRefreshEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildCertRefreshFunction } from "#shared/runtime/build-cert-refresh-function.js";

/** Scheduled (platform-certificate mode): downloads WeChat Pay platform certificates into the shared cache. */
export const handler = buildCertRefreshFunction(loadEnv(certRefreshEnvSchema));
