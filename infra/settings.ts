import { Duration } from "aws-cdk-lib";
import type { FunctionKind } from "./constructs/wx-function.js";

/**
 * Sizing shared by the two stacks. The queue's visibility timeout lives in the stateful stack but depends on the
 * worker's timeout in the service stack, so both read it from here (and the service stack asserts the relation).
 */

/** WeChat HTTP timeout per try; the env var WECHATPAY_TIMEOUT_MS is set from it. */
export const WECHATPAY_TIMEOUT = Duration.seconds(5);

export interface FunctionSizing {
  memorySize: number;
  timeout: Duration;
}

export const FUNCTION_SIZING: Record<FunctionKind, FunctionSizing> = {
  // Synchronous single send: up to 3 WeChat tries of 5 s (primary + backup host) inside API Gateway's 30 s limit.
  api: { memorySize: 256, timeout: Duration.seconds(20) },
  // A batch of ≤ 10 sends in parallel, each up to 3 tries of 5 s, plus the rate-limiter wait
  // (docs/aws-notes.md#worked-example-send-worker-timeout).
  "send-worker": { memorySize: 256, timeout: Duration.seconds(30) },
  // WeChat wants an answer within 5 s; more memory = more CPU for RSA verify + AES-GCM on a cold start.
  notify: { memorySize: 512, timeout: Duration.seconds(10) },
  "cert-refresh": { memorySize: 256, timeout: Duration.seconds(60) },
};

/**
 * Lambda's rule for SQS event sources: visibility timeout ≥ 6 × function timeout
 * (docs/aws-notes.md#sqs-and-lambda-event-source-mapping).
 */
export const VISIBILITY_FACTOR = 6;
export const SEND_QUEUE_VISIBILITY = Duration.seconds(
  VISIBILITY_FACTOR * FUNCTION_SIZING["send-worker"].timeout.toSeconds(),
);

/** Receives before a message goes to the DLQ: one definition, shared with the worker and the local stack. */
export { EVENTS_MAX_RECEIVE_COUNT, SEND_MAX_RECEIVE_COUNT } from "../shared/config/queue-settings.js";
/** The maximum; both sources keep 4 days so a dead-lettered message always has ≥ 10 days left to be redriven. */
export const DLQ_RETENTION = Duration.days(14);
export const SEND_QUEUE_RETENTION = Duration.days(4);
export const EVENTS_QUEUE_RETENTION = Duration.days(4);

/**
 * Event source mapping concurrency from the send rate. Little's law: one environment with a small in-flight pool at
 * ~150 ms WeChat latency holds about 40 sends/s, so C = ceil(rate / 40), clamped to the ESM's 2..1000: 400/s → 10
 * environments. The rate itself is held across all of them by one counter in the table (the send worker's governor).
 */
export const SENDS_PER_ENVIRONMENT = 40;
export function workerMaxConcurrency(sendRatePerSecond: number): number {
  return Math.min(1000, Math.max(2, Math.ceil(sendRatePerSecond / SENDS_PER_ENVIRONMENT)));
}

/** Small batches fill fast at campaign rates; the window only matters for trickles. */
export const SEND_BATCH_SIZE = 10;
export const SEND_BATCHING_WINDOW = Duration.seconds(1);
