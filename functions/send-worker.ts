import { loadEnv, sendWorkerEnvSchema } from "#shared/config/env.js";
import { buildSendWorkerFunction } from "#shared/runtime/build-send-worker-function.js";

/** SQS-triggered bulk sender: partial batch failures, rate held across workers, one send per out_request_no. */
export const handler = buildSendWorkerFunction(loadEnv(sendWorkerEnvSchema));
