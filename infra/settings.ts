import { Duration } from "aws-cdk-lib";
import { EXPORT_FUNCTION_TIMEOUT_SECONDS } from "../shared/config/export-settings.js";
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
  /** Reserved concurrency: a cap for this function and a share taken from the account's pool. */
  reservedConcurrency?: number;
}

export const FUNCTION_SIZING: Record<FunctionKind, FunctionSizing> = {
  // Caller routes that pass a query through to WeChat or create a stock: up to 3 WeChat tries of 5 s (primary +
  // backup host) inside API Gateway's 30 s limit.
  api: { memorySize: 256, timeout: Duration.seconds(20) },
  // Synchronous single send (POST /coupons): up to 2 s for a budget token, then up to 3 WeChat tries of 5 s, inside
  // API Gateway's 30 s limit (shared/runtime/build-send-api-function.ts).
  "send-api": { memorySize: 256, timeout: Duration.seconds(20) },
  // A batch of ≤ 10 sends in parallel, each up to 3 tries of 5 s, plus the rate-limiter wait
  // (docs/aws-notes.md#worked-example-send-worker-timeout).
  "send-worker": { memorySize: 256, timeout: Duration.seconds(30) },
  // WeChat wants an answer within 5 s; more memory = more CPU for RSA verify + AES-GCM on a cold start.
  // Reserved concurrency: see NOTIFY_RESERVED_CONCURRENCY below.
  notify: { memorySize: 512, timeout: Duration.seconds(10), reservedConcurrency: 20 },
  "cert-refresh": { memorySize: 256, timeout: Duration.seconds(60) },
  // Streams a CSV part by part (shared/config/export-settings.ts): ~20 MB of CSV in memory at most, whatever the
  // campaign's size; an export longer than one invocation checkpoints and continues in the next.
  export: { memorySize: 512, timeout: Duration.seconds(EXPORT_FUNCTION_TIMEOUT_SECONDS) },
  // Streams flow files row by row (shared/domain/reconciliation/reconcile-run.ts): memory holds a few batches of rows,
  // not the file. The longest timeout Lambda allows: a resumed run downloads its file again and skips the rows before
  // its checkpoint, which takes longer the further it got. A run stops at a checkpoint before the timeout
  // (RECONCILE_STOP_MARGIN_SECONDS) and the next scheduled invocation resumes it.
  reconcile: { memorySize: 512, timeout: Duration.minutes(15) },
  // Pages of ≤ 1,000 send records, one at a time, stored after each: memory stays flat; a run stops starting pages
  // halfway through its timeout (shared/runtime/build-sweeper-function.ts) and the next run goes on.
  sweeper: { memorySize: 256, timeout: Duration.seconds(60) },
  // A stream batch (≤ EVENTS_STREAM_BATCH_SIZE records) becomes ≤ 3 events each, PutEvents 10 at a time with retries.
  "events-publisher": { memorySize: 256, timeout: Duration.seconds(30) },
  // A batch of ≤ 10 events, each POSTed to every endpoint at once with FORWARD_TIMEOUT.
  "event-forwarder": { memorySize: 256, timeout: Duration.seconds(30) },
};

/** How often the sweeper runs (EventBridge rule; the local stack runs the same rate from the template). */
export const SWEEPER_RATE = Duration.minutes(1);

/**
 * How often the reconciliation job runs (EventBridge Scheduler; the local stack runs the same rate from the template):
 * it picks up stocks whose flow files WeChat now serves and advances running reconciliations, including the ones
 * `POST /reconciliations` created.
 */
export const RECONCILE_RATE = Duration.minutes(1);

/**
 * Lambda's rule for SQS event sources: visibility timeout ≥ 6 × function timeout
 * (docs/aws-notes.md#sqs-and-lambda-event-source-mapping).
 */
export const VISIBILITY_FACTOR = 6;
export const SEND_QUEUE_VISIBILITY = Duration.seconds(
  VISIBILITY_FACTOR * FUNCTION_SIZING["send-worker"].timeout.toSeconds(),
);

/** The export queue follows the same rule for the export function (its messages are consumed one at a time). */
export const EXPORT_QUEUE_VISIBILITY = Duration.seconds(VISIBILITY_FACTOR * EXPORT_FUNCTION_TIMEOUT_SECONDS);
/**
 * An export message is received again only when an invocation died without handing the export on (a crash, an
 * out-of-memory): three such deaths in a row and the message is kept in the export DLQ for inspection.
 */
export const EXPORT_MAX_RECEIVE_COUNT = 3;
export const EXPORT_QUEUE_RETENTION = Duration.days(4);
/**
 * Export files are deleted this many days after they were written (the bucket's lifecycle rule), unfinished
 * multipart uploads after one day; the export records expire a day later (shared/adapters/record-rules.ts).
 */
export const EXPORT_OBJECT_DAYS = 7;
/**
 * The export bucket's name, fixed from the deployment (env ≤ 16 characters, infra/config.ts, keeps it under S3's 63):
 * the service stack's grants then name it outright (`arn:…:s3:::NAME/exports/*`) instead of importing an ARN, and the
 * local stack creates the bucket the template names.
 */
export const exportBucketName = (c: { envName: string; account: string; region: string }): string =>
  `wxcoupon-${c.envName}-exports-${c.account}-${c.region}`;
/** Object keys of exports (`exports/{campaign}/{export_id}.csv`, shared/domain/exports/start-export.ts). */
export const EXPORT_PREFIX = "exports/";
/** Exports written at once: a few are plenty (each is one page reader and one upload), and the table keeps its reads. */
export const EXPORT_MAX_CONCURRENCY = 2;

/**
 * A campaign whose counters did not move for this long has lost messages, and the sweeper queues its unfinished
 * sends again. Above the send queue's visibility timeout and the worker's longest back-off (300 s,
 * shared/domain/campaigns/process-send-batch.ts), so a send merely waiting in the queue is not duplicated; the service
 * stack asserts the first.
 */
export const SWEEPER_STALL = Duration.minutes(10);

/** Receives before a message goes to the DLQ: one definition, shared with the worker and the local stack. */
export { EVENTS_MAX_RECEIVE_COUNT, SEND_MAX_RECEIVE_COUNT } from "../shared/config/queue-settings.js";
/** The maximum; both sources keep 4 days so a dead-lettered message always has ≥ 10 days left to be redriven. */
export const DLQ_RETENTION = Duration.days(14);
export const SEND_QUEUE_RETENTION = Duration.days(4);
export const EVENTS_QUEUE_RETENTION = Duration.days(4);

/**
 * Event source mapping concurrency from the send rate. Little's law: one environment with a small in-flight pool at
 * ~150 ms WeChat latency holds about 40 sends/s, so C = ceil(rate / 40), clamped to the ESM's 2..1000: 500/s → 13
 * environments. The rate itself is held across all of them by one counter in the table (the send worker's governor).
 */
export const SENDS_PER_ENVIRONMENT = 40;
export function workerMaxConcurrency(sendRatePerSecond: number): number {
  return Math.min(1000, Math.max(2, Math.ceil(sendRatePerSecond / SENDS_PER_ENVIRONMENT)));
}

/** Small batches fill fast at campaign rates; the window only matters for trickles. */
export const SEND_BATCH_SIZE = 10;
export const SEND_BATCHING_WINDOW = Duration.seconds(1);

/**
 * The WeChat webhook (POST /notify/wechatpay) is public, so it gets its own throttle instead of the stage default
 * (sendRatePerSecond, sized for our own callers), and the notify function a reserved concurrency that caps it.
 *
 * Sizing. WeChat sends one COUPON.USE per redeemed coupon and, when it gets no 2xx, sends it again once a minute,
 * 9 times in all ("通知频率为1min1次，总计9次": https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter9_1_15.shtml, also
 * https://pay.weixin.qq.com/docs/merchant/apis/cash-coupons/check-notice.html). So a 429 from this throttle loses
 * nothing: it delays that notification by a minute, and the limit only has to stay above the sustained redemption
 * rate of one merchant's cash coupons, with room for the retries that arrive together after an outage.
 * - 100 requests/s is 8.6 M redemptions a day, far above what one merchant's coupons are used at (the service
 *   itself sends at most sendRatePerSecond ≤ 500/s, WeChat's send limit, and most coupons are never used at once).
 * - Burst 200: retries of notifications that failed during a short outage all come back within the same minute.
 * - Independent of the stage default (sendRatePerSecond, 500/s unless configured), which is sized for our own
 *   callers: a flood of forged notifications is refused by API Gateway (429, no Lambda invocation) at 100/s.
 */
export const NOTIFY_ROUTE_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;

/**
 * Notify's reserved concurrency (FUNCTION_SIZING.notify). A genuine notification takes tens of ms warm (one RSA
 * verify, one AES-GCM decrypt, one conditional write, one SQS send), so 20 environments serve far more than the
 * route's 100/s; a forged one is refused in a few ms before any key is loaded. Capping notify means even requests
 * that do get through, each holding an environment up to its 10 s timeout, can never take more than 20 of the
 * account's concurrent executions: the api, send-api and send-worker functions keep the rest. The other functions
 * reserve nothing (the worker is capped by its event source mapping's maximum concurrency, which reserved concurrency
 * would only throttle), so the sum reserved by this service is 20, far below the default account limit of 1,000 and
 * leaving the 100 unreserved executions Lambda requires
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). An account whose limit was
 * lowered below 120 must raise it (Service Quotas) before deploying.
 */
export const NOTIFY_RESERVED_CONCURRENCY = FUNCTION_SIZING.notify.reservedConcurrency!;
/** Lambda keeps this many executions unreserved in every account; reservations may not eat into it. */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/**
 * The events publisher's stream mapping (docs/events.md#outbox). A failing batch is split in halves and the publisher
 * reports the record it cannot read (ReportBatchItemFailures), so a bad record is isolated without holding back the
 * others. A batch still failing after EVENTS_STREAM_RETRY_ATTEMPTS retries, or whose records are older than
 * EVENTS_STREAM_MAX_RECORD_AGE, goes to the on-failure queue (which alarms) and its shard moves on: a record that can
 * never be published blocks its shard for minutes, not until it leaves the stream. Lambda's on-failure record holds
 * only the batch's position (shard, sequence numbers), so the age bound keeps the records it points at in the stream
 * (24 h) for 18 h more: the window to replay them (docs/events.md#replaying-the-on-failure-queue).
 */
export const EVENTS_STREAM_BATCH_SIZE = 100;
export const EVENTS_STREAM_BATCHING_WINDOW = Duration.seconds(1);
export const EVENTS_STREAM_RETRY_ATTEMPTS = 100;
export const EVENTS_STREAM_MAX_RECORD_AGE = Duration.hours(6);

/** The bus rule → queue target's own retry policy (EventBridge's defaults, stated): then the rule's DLQ. */
export const EVENTS_RULE_RETRY_ATTEMPTS = 185;
export const EVENTS_RULE_MAX_EVENT_AGE = Duration.hours(24);

/**
 * Signed HTTP forwarding (docs/events.md#signed-http-forwarding): per endpoint, attempts after these delays (seconds;
 * SQS delays a message at most 900 s), then a dead-letter record: 8 attempts over about 40 minutes.
 */
export const FORWARD_RETRY_DELAYS_SECONDS = [10, 30, 60, 300, 600, 900, 900] as const;
export const FORWARD_TIMEOUT = Duration.seconds(5);
export const FORWARD_QUEUE_VISIBILITY = Duration.seconds(180);
export const FORWARD_MAX_RECEIVE_COUNT = 5;
export const FORWARD_BATCH_SIZE = 10;
export const FORWARD_MAX_CONCURRENCY = 2;
