import { Duration } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { WxConfig } from "../config.js";
import { METRIC, SERVICE_DIMENSION } from "../metrics.js";
import type { FunctionKind, WxFunction } from "./wx-function.js";
import { METRICS_NAMESPACE } from "./wx-function.js";

export interface MonitoringProps {
  config: WxConfig;
  httpApi: IHttpApi;
  functions: Partial<Record<FunctionKind, WxFunction>>;
  sendQueue: IQueue;
  sendDlq: IQueue;
  eventsQueue: IQueue;
  eventsDlq: IQueue;
  exportDlq: IQueue;
  /** The events stream's on-failure queue and the HTTP forwarder's dead letters (docs/events.md). */
  streamFailureDlq: IQueue;
  forwardDlq: IQueue;
}

/** How old the oldest send may get before someone looks: 1.44 M queued sends at 400/s, or a stall. */
export const SEND_QUEUE_MAX_AGE = Duration.hours(1);
/** The coupon-events queue is drained by downstream consumers; a day of backlog means one stopped. */
export const EVENTS_QUEUE_MAX_AGE = Duration.days(1);

/**
 * The codes of sends held because WeChat refuses the merchant (shared/domain/sends/failure-policy.ts
 * `MERCHANT_HOLD_CODES`, which infra may not import; test/infra/stacks.test.ts keeps the two equal), emitted as
 * CouponSendRetried.
 */
export const MERCHANT_REFUSAL_CODES = ["MERCHANT_NOT_PERMITTED", "APPID_NOT_BOUND", "WECHATPAY_AUTH_FAILED"] as const;

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/**
 * Alarms (optionally to an SNS topic) and the campaigns dashboard. Custom metric names come from infra/metrics.ts,
 * which documents what the functions must emit.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, functions } = props;
    const topic = config.alarmTopicArn ? Topic.fromTopicArn(this, "AlarmTopic", config.alarmTopicArn) : undefined;
    const prefix = `wxcoupon-${config.envName}`;

    const alarm = (
      name: string,
      metric: IMetric,
      threshold: number,
      description: string,
      evaluationPeriods = 1,
    ): Alarm => {
      const created = new Alarm(this, name, {
        alarmName: `${prefix}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (topic) {
        created.addAlarmAction(new SnsAction(topic));
        created.addOkAction(new SnsAction(topic));
      }
      this.alarms.push(created);
      return created;
    };

    // Dead letters: every message there is a send (or an event) that needs a human and a redrive.
    alarm(
      "SendDlqNotEmpty",
      props.sendDlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: Stats.MAXIMUM }),
      1,
      "Send messages exhausted their receives and are in the send DLQ: inspect the reason, fix, redrive.",
    );
    alarm(
      "CouponEventsDlqNotEmpty",
      props.eventsDlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: Stats.MAXIMUM }),
      1,
      "Coupon events were not consumed after 5 receives and are in the coupon-events DLQ.",
    );
    alarm(
      "ExportDlqNotEmpty",
      props.exportDlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: Stats.MAXIMUM }),
      1,
      "An export's message was received 3 times without its export being handed on (the export function died each " +
        "time, e.g. out of memory): the export stays RUNNING; see the export function's logs, then redrive.",
    );
    alarm(
      "EventsStreamDlqNotEmpty",
      props.streamFailureDlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: Stats.MAXIMUM }),
      1,
      "Table changes could not be published within the stream mapping's retries or record age (docs/events.md#outbox): " +
        "fix the publisher, then replay the reported sequence range within 18 h (docs/events.md#replaying-the-on-failure-queue).",
    );
    alarm(
      "EventForwardDlqNotEmpty",
      props.forwardDlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: Stats.MAXIMUM }),
      1,
      "An HTTP event consumer refused or missed every attempt (docs/events.md#signed-http-forwarding): check it, redrive.",
    );
    alarm(
      "SendQueueOldMessage",
      props.sendQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: Stats.MAXIMUM }),
      SEND_QUEUE_MAX_AGE.toSeconds(),
      `The oldest queued send is over ${SEND_QUEUE_MAX_AGE.toHumanString()} old: workers stalled or throttled, or a campaign larger than rate × 1 h.`,
    );
    // Messages waiting but none deleted for 15 minutes: workers are not making progress at all.
    alarm(
      "SendQueueStalled",
      new MathExpression({
        expression: "IF(visible > 0 AND FILL(deleted, 0) == 0, 1, 0)",
        usingMetrics: {
          visible: props.sendQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            statistic: Stats.MINIMUM,
          }),
          deleted: props.sendQueue.metricNumberOfMessagesDeleted({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        },
        period: FIVE_MINUTES,
        label: "send queue stalled",
      }),
      1,
      "Send messages are waiting and none was processed for 15 minutes.",
      3,
    );
    alarm(
      "CouponEventsOldMessage",
      props.eventsQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: Stats.MAXIMUM }),
      EVENTS_QUEUE_MAX_AGE.toSeconds(),
      "Coupon events are not being consumed by downstream systems.",
    );

    for (const [kind, fn] of Object.entries(functions) as [FunctionKind, WxFunction][]) {
      const name = kind.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        1,
        `${kind}: invocations ended in an unhandled error (crash, timeout, ConfigurationError at cold start).`,
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM }),
        1,
        `${kind}: invocations throttled (account concurrency exhausted).`,
      );
    }

    // Notify: WeChat retries a 5xx up to 9 times, so a few are survivable; a run of them loses nothing yet but
    // means the store or the events queue is failing.
    alarm(
      "NotifyFailures",
      serviceMetric(METRIC.notificationsFailed, Stats.SUM, FIVE_MINUTES),
      3,
      "notify answered 5xx to WeChat (failed before the notification was stored); WeChat will retry.",
    );
    alarm(
      "Api5xx",
      props.httpApi.metricServerError({ period: FIVE_MINUTES, statistic: Stats.SUM }),
      5,
      "The HTTP API returned 5xx (callers and the WeChat webhook).",
    );

    // WeChat refusing the merchant (not permitted, appid not bound, our signature refused) holds the sends instead of
    // failing them: campaigns pause, POST /coupons answers 403/502, and nothing reaches a DLQ
    // (docs/wechatpay-cash-coupons.md#refusals-about-the-merchant). This is how an operator hears of it.
    const held = Object.fromEntries(
      MERCHANT_REFUSAL_CODES.map((code, i) => [
        `m${i}`,
        new Metric({
          namespace: METRICS_NAMESPACE,
          metricName: METRIC.couponSendRetried,
          dimensionsMap: { ...SERVICE_DIMENSION, code },
          statistic: Stats.SUM,
          period: FIVE_MINUTES,
        }),
      ]),
    );
    alarm(
      "MerchantRefused",
      new MathExpression({
        expression: Object.keys(held)
          .map((id) => `FILL(${id}, 0)`)
          .join(" + "),
        usingMetrics: held,
        period: FIVE_MINUTES,
        label: "sends held for the merchant",
      }),
      1,
      "WeChat Pay refuses the merchant, not a recipient (MERCHANT_NOT_PERMITTED, APPID_NOT_BOUND, WECHATPAY_AUTH_FAILED): " +
        "campaigns are PAUSED with that state_reason and POST /coupons answers 403/502, nothing recorded. Fix the " +
        "permission, appid binding or key with WeChat Pay, then resume the campaigns.",
    );

    const worker = functions["send-worker"];
    const notify = functions.notify;
    const failedByCode = (metricName: string, label: string): MathExpression =>
      new MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},code,service} MetricName="${metricName}"', 'Sum', 60)`,
        label,
        period: ONE_MINUTE,
      });

    this.dashboard = new Dashboard(this, "Campaigns", {
      dashboardName: `${prefix}-campaigns`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Sends per minute by result",
        width: 12,
        left: [
          serviceMetric(METRIC.couponsSent, Stats.SUM, ONE_MINUTE, "sent"),
          new MathExpression({
            expression: `SUM(SEARCH('{${METRICS_NAMESPACE},code,service} MetricName="${METRIC.couponSendFailed}"', 'Sum', 60))`,
            label: "failed (final)",
            period: ONE_MINUTE,
          }),
          new MathExpression({
            expression: `SUM(SEARCH('{${METRICS_NAMESPACE},code,service} MetricName="${METRIC.couponSendRetried}"', 'Sum', 60))`,
            label: "retried",
            period: ONE_MINUTE,
          }),
        ],
      }),
      new GraphWidget({
        title: "WeChat error codes per minute",
        width: 12,
        left: [failedByCode(METRIC.couponSendFailed, "final"), failedByCode(METRIC.couponSendRetried, "retried")],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "WeChat latency (ms)",
        width: 8,
        left: [Stats.p(50), Stats.p(90), Stats.p(99)].map((stat) =>
          serviceMetric(METRIC.wechatLatency, stat, ONE_MINUTE, stat),
        ),
      }),
      new GraphWidget({
        title: "Send queue",
        width: 8,
        left: [
          props.sendQueue.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, label: "waiting" }),
          props.sendQueue.metricApproximateNumberOfMessagesNotVisible({ period: ONE_MINUTE, label: "in flight" }),
          props.sendDlq.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, label: "DLQ" }),
        ],
        right: [props.sendQueue.metricApproximateAgeOfOldestMessage({ period: ONE_MINUTE, label: "oldest (s)" })],
      }),
      new GraphWidget({
        title: "Send workers",
        width: 8,
        left: worker
          ? [
              worker.metric("ConcurrentExecutions", {
                period: ONE_MINUTE,
                statistic: Stats.MAXIMUM,
                label: "concurrent",
              }),
              worker.metricThrottles({ period: ONE_MINUTE, label: "throttles" }),
              worker.metricErrors({ period: ONE_MINUTE, label: "errors" }),
            ]
          : [],
        right: worker ? [worker.metricDuration({ period: ONE_MINUTE, statistic: Stats.p(90), label: "p90 ms" })] : [],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: "Notifications per minute",
        width: 12,
        left: [
          serviceMetric(METRIC.notificationsStored, Stats.SUM, ONE_MINUTE, "stored"),
          serviceMetric(METRIC.duplicateNotifications, Stats.SUM, ONE_MINUTE, "duplicates"),
          new MathExpression({
            expression: `SUM(SEARCH('{${METRICS_NAMESPACE},reason,service} MetricName="${METRIC.notificationsRejected}"', 'Sum', 60))`,
            label: "rejected",
            period: ONE_MINUTE,
          }),
          serviceMetric(METRIC.notificationsFailed, Stats.SUM, ONE_MINUTE, "failed (5xx)"),
        ],
        right: notify
          ? [notify.metricDuration({ period: ONE_MINUTE, statistic: Stats.p(99), label: "notify p99 ms" })]
          : [],
      }),
      new GraphWidget({
        title: "HTTP API",
        width: 12,
        left: [
          props.httpApi.metricCount({ period: ONE_MINUTE, label: "requests" }),
          props.httpApi.metricClientError({ period: ONE_MINUTE, label: "4xx" }),
          props.httpApi.metricServerError({ period: ONE_MINUTE, label: "5xx" }),
        ],
        right: [props.httpApi.metricLatency({ period: ONE_MINUTE, statistic: Stats.p(90), label: "p90 ms" })],
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: "Alarms", width: 24, alarms: this.alarms }));
  }
}

function serviceMetric(metricName: string, statistic: string, period: Duration, label?: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...SERVICE_DIMENSION },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}
