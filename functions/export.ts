import { exportEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildExportFunction } from "#shared/runtime/build-export-function.js";

/** SQS-triggered CSV export: streams a campaign's coupons or failures into a multipart S3 object, checkpointed. */
export const handler = buildExportFunction(loadEnv(exportEnvSchema));
