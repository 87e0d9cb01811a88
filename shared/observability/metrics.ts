import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics as powertoolsLogMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { logger } from "./logger.js";

/**
 * The service's CloudWatch metrics (EMF through Powertools). Names, units and dimensions are the ones the dashboard
 * and alarms read (infra/metrics.ts, copied here because runtime code never imports infra/).
 *
 * Dimension-less metrics are buffered on the shared instance and flushed by the `logMetrics()` middleware at the end
 * of the invocation (or by `flushMetrics()`); metrics with a `code`/`reason` dimension are emitted at once through
 * `singleMetric()`, so that dimension never leaks onto the other metrics of the same flush.
 *
 * Where EMF goes, and when Powertools 2.36 is silent: `POWERTOOLS_METRICS_DISABLED` decides when it is set
 * ("true"/"1"/… disables, "false" enables); when it is unset, Powertools disables metrics if `POWERTOOLS_DEV` is
 * truthy and otherwise prints EMF to stdout, Lambda or not. Outside Lambda (no AWS_LAMBDA_FUNCTION_NAME) and under
 * vitest this module therefore sets POWERTOOLS_METRICS_DISABLED=true when it is unset, so tests and the local stack
 * print no EMF; set POWERTOOLS_METRICS_DISABLED=false to see it. (It must be the environment variable: every
 * `singleMetric()` instance reads it anew.)
 */

export const METRICS_NAMESPACE = "wxcoupon";
export const METRICS_SERVICE = "wxcoupon";

/** Same names as infra/metrics.ts `METRIC` (test/unit/observability checks they stay equal). */
export const METRIC = {
  couponsSent: "CouponsSent",
  couponSendFailed: "CouponSendFailed",
  couponSendRetried: "CouponSendRetried",
  wechatLatency: "WechatLatency",
  notificationsStored: "NotificationsStored",
  duplicateNotifications: "DuplicateNotifications",
  notificationsRejected: "NotificationsRejected",
  notificationsFailed: "NotificationsFailed",
} as const;

/** Whether EMF should be silenced by default in this environment (see the module comment). */
export function silentByDefault(env: NodeJS.ProcessEnv): boolean {
  if (env.POWERTOOLS_METRICS_DISABLED !== undefined) return false;
  return env.VITEST !== undefined || !env.AWS_LAMBDA_FUNCTION_NAME;
}

if (silentByDefault(process.env)) process.env.POWERTOOLS_METRICS_DISABLED = "true";

const NO_METRICS_WARNING = "No application metrics to publish";

export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: METRICS_SERVICE,
  // Powertools warns on every flush without metrics (most API requests emit none): keep that at debug level.
  logger: {
    debug: (...args: unknown[]) => logger.debug(String(args[0]), ...rest(args)),
    info: (...args: unknown[]) => logger.info(String(args[0]), ...rest(args)),
    warn: (...args: unknown[]) =>
      String(args[0]).startsWith(NO_METRICS_WARNING)
        ? logger.debug(String(args[0]))
        : logger.warn(String(args[0]), ...rest(args)),
    error: (...args: unknown[]) => logger.error(String(args[0]), ...rest(args)),
  },
});

function rest(args: unknown[]): Array<Record<string, unknown>> {
  return args.length > 1 ? [{ details: args.slice(1).map(String) }] : [];
}

/** The outcome of one coupon send, as the dashboards count it. */
export type SendOutcomeKind = "sent" | "failed" | "retried";

/**
 * - `sent`: WeChat returned a coupon_id (final success, once per send) → CouponsSent.
 * - `failed`, code: final refusal with WeChat's code (NOT_ENOUGH, RULE_LIMIT…) → CouponSendFailed{code}.
 * - `retried`, code: retryable outcome (SYSTEM_ERROR, FREQUENCY_LIMIT_EXCEED, TIMEOUT, HTTP_5XX…) → CouponSendRetried{code}.
 */
export function recordSendOutcome(outcome: "sent"): void;
export function recordSendOutcome(outcome: "failed" | "retried", code: string): void;
export function recordSendOutcome(outcome: SendOutcomeKind, code?: string): void {
  if (outcome === "sent") {
    metrics.addMetric(METRIC.couponsSent, MetricUnit.Count, 1);
    return;
  }
  emitWithDimension(
    outcome === "failed" ? METRIC.couponSendFailed : METRIC.couponSendRetried,
    "code",
    code || "UNKNOWN",
  );
}

/** One HTTP call to WeChat Pay (one per try). */
export function recordWechatLatency(ms: number): void {
  metrics.addMetric(METRIC.wechatLatency, MetricUnit.Milliseconds, Math.max(0, ms));
}

export type NotificationKind = "stored" | "duplicate" | "rejected" | "failed";

/**
 * - `stored`: a new COUPON.USE committed → NotificationsStored.
 * - `duplicate`: an id already stored (WeChat retry), acknowledged → DuplicateNotifications.
 * - `rejected`, reason: bad signature / timestamp / payload, answered 4xx → NotificationsRejected{reason}. Keep
 *   `reason` to a small fixed set (SignatureVerificationError.reason, "FORMAT"): each value is a CloudWatch metric.
 * - `failed`: answered 5xx so WeChat retries → NotificationsFailed.
 */
export function recordNotification(kind: "stored" | "duplicate" | "failed"): void;
export function recordNotification(kind: "rejected", reason: string): void;
export function recordNotification(kind: NotificationKind, reason?: string): void {
  switch (kind) {
    case "stored":
      metrics.addMetric(METRIC.notificationsStored, MetricUnit.Count, 1);
      return;
    case "duplicate":
      metrics.addMetric(METRIC.duplicateNotifications, MetricUnit.Count, 1);
      return;
    case "failed":
      metrics.addMetric(METRIC.notificationsFailed, MetricUnit.Count, 1);
      return;
    case "rejected":
      emitWithDimension(METRIC.notificationsRejected, "reason", reason || "UNKNOWN");
  }
}

/** Flushes the buffered metrics; for code paths not wrapped in `logMetrics()`. */
export function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/**
 * The middy middleware flushing the shared instance after every invocation (also on error):
 * `middy(handler).use(logMetrics())`. No ColdStart metric by default: the dashboards do not read it and each one is
 * a billed custom metric; pass `{ captureColdStartMetric: true }` to have it.
 */
export function logMetrics(options: { captureColdStartMetric?: boolean } = {}) {
  return powertoolsLogMetrics(metrics, { captureColdStartMetric: options.captureColdStartMetric ?? false });
}

function emitWithDimension(name: string, dimension: "code" | "reason", value: string): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** Counts one send outcome as the dashboards expect: fresh outcomes only (replays were counted the first time). */
export function recordSendOutcomeOf(outcome: { status: string; replayed?: boolean; code?: string }): void {
  if (outcome.status === "SENT" && !outcome.replayed) recordSendOutcome("sent");
  else if (outcome.status === "FAILED" && !outcome.replayed) recordSendOutcome("failed", outcome.code ?? "UNKNOWN");
  else if (outcome.status === "RETRY") recordSendOutcome("retried", outcome.code ?? "UNKNOWN");
}
