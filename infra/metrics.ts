/**
 * The service's own CloudWatch metrics, emitted by the functions as Powertools EMF metrics. The dashboard and alarms in
 * the service stack read exactly these names, which the runtime code defines in shared/observability/metrics.ts
 * (infra imports them from there; runtime code never imports infra/).
 *
 * - Namespace: `wxcoupon` (POWERTOOLS_METRICS_NAMESPACE, set on every function).
 * - Default dimension: `service` = `wxcoupon` (POWERTOOLS_SERVICE_NAME, set on every function).
 * - Metrics with a `code` or `reason` dimension carry it *in addition to* `service`, i.e. dimension set
 *   {service, code}. Emit them with `metrics.singleMetric()` so the extra dimension does not leak onto the other
 *   metrics of the same flush.
 *
 * | metric                 | unit         | extra dimension | emitted by        | when                                                          |
 * | ---------------------- | ------------ | --------------- | ----------------- | ------------------------------------------------------------- |
 * | CouponsSent            | Count        | –               | api, send-worker  | WeChat returned a coupon_id (final success, once per send)    |
 * | CouponSendFailed       | Count        | code            | api, send-worker  | final refusal, code = WeChat's code (NOT_ENOUGH, RULE_LIMIT…) |
 * | CouponSendRetried      | Count        | code            | api, send-worker  | retryable outcome (SYSTEM_ERROR, FREQUENCY_LIMIT_EXCEED,      |
 * |                        |              |                 |                   | TIMEOUT, HTTP_5XX…), the send will be tried again             |
 * | WechatLatency          | Milliseconds | –               | all               | each HTTP call to WeChat Pay (one per try)                    |
 * | NotificationsStored    | Count        | –               | notify            | a new COUPON.USE notification committed to the table          |
 * | DuplicateNotifications | Count        | –               | notify            | a notification id already stored (WeChat retry) – acked       |
 * | NotificationsRejected  | Count        | reason          | notify            | bad signature / timestamp outside ±300 s / bad payload (4xx)  |
 * | NotificationsFailed    | Count        | –               | notify            | answered 5xx so WeChat retries (failure before the commit)    |
 */
export { METRIC } from "../shared/observability/metrics.js";

export const SERVICE_DIMENSION = { service: "wxcoupon" } as const;
