import { afterEach, describe, expect, it, vi } from "vitest";
import { METRIC as INFRA_METRIC, SERVICE_DIMENSION } from "../../../infra/metrics.js";

type MetricsModule = typeof import("#shared/observability/metrics.js");

interface Emf {
  _aws: {
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

/** A fresh copy of the module under the given environment (it reads the environment when loaded). */
async function loadMetrics(env: Record<string, string | undefined>): Promise<MetricsModule> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return import("#shared/observability/metrics.js");
}

function captureStdout(): () => Emf[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  return () =>
    lines
      .join("")
      .split("\n")
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Emf);
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("metrics", () => {
  it("uses exactly the names the dashboards read (infra/metrics.ts)", async () => {
    const { METRIC, METRICS_NAMESPACE, METRICS_SERVICE } = await loadMetrics({});
    expect(METRIC).toEqual(INFRA_METRIC);
    expect(METRICS_NAMESPACE).toBe("wxcoupon");
    expect({ service: METRICS_SERVICE }).toEqual(SERVICE_DIMENSION);
  });

  it("is silent by default outside Lambda and under vitest, and when POWERTOOLS_METRICS_DISABLED says so", async () => {
    const { silentByDefault } = await loadMetrics({});
    expect(silentByDefault({})).toBe(true);
    expect(silentByDefault({ AWS_LAMBDA_FUNCTION_NAME: "wxcoupon-api", VITEST: "true" })).toBe(true);
    expect(silentByDefault({ AWS_LAMBDA_FUNCTION_NAME: "wxcoupon-api" })).toBe(false);
    expect(silentByDefault({ POWERTOOLS_METRICS_DISABLED: "false" })).toBe(false);

    const output = captureStdout();
    const m = await loadMetrics({ POWERTOOLS_METRICS_DISABLED: undefined });
    m.recordSendOutcome("sent");
    m.recordSendOutcome("failed", "NOT_ENOUGH");
    m.flushMetrics();
    expect(output()).toEqual([]);
    expect(process.env.POWERTOOLS_METRICS_DISABLED).toBe("true");
  });

  it("emits the send outcomes with {service} or {service, code} as EMF when enabled", async () => {
    const m = await loadMetrics({ POWERTOOLS_METRICS_DISABLED: "false" });
    const output = captureStdout();
    m.recordSendOutcome("sent");
    m.recordWechatLatency(120);
    m.recordWechatLatency(80);
    m.recordSendOutcome("failed", "NOT_ENOUGH");
    m.recordSendOutcome("retried", "SYSTEM_ERROR");
    m.flushMetrics();
    const [failed, retried, buffered] = output();

    expect(failed?._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: "wxcoupon",
      Dimensions: [["service", "code"]],
      Metrics: [{ Name: "CouponSendFailed", Unit: "Count" }],
    });
    expect(failed).toMatchObject({ service: "wxcoupon", code: "NOT_ENOUGH", CouponSendFailed: 1 });
    expect(retried).toMatchObject({ code: "SYSTEM_ERROR", CouponSendRetried: 1 });
    // The code dimension did not leak onto the buffered metrics.
    expect(buffered?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service"]]);
    expect(buffered).toMatchObject({ CouponsSent: 1, WechatLatency: [120, 80] });
    expect(buffered?._aws.CloudWatchMetrics[0]?.Metrics).toContainEqual({
      Name: "WechatLatency",
      Unit: "Milliseconds",
    });
  });

  it("emits the notification outcomes, rejections with their reason", async () => {
    const m = await loadMetrics({ POWERTOOLS_METRICS_DISABLED: "false" });
    const output = captureStdout();
    m.recordNotification("stored");
    m.recordNotification("duplicate");
    m.recordNotification("failed");
    m.recordNotification("rejected", "TIMESTAMP_OUT_OF_WINDOW");
    m.flushMetrics();
    const [rejected, buffered] = output();
    expect(rejected).toMatchObject({ reason: "TIMESTAMP_OUT_OF_WINDOW", NotificationsRejected: 1 });
    expect(rejected?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service", "reason"]]);
    expect(buffered).toMatchObject({ NotificationsStored: 1, DuplicateNotifications: 1, NotificationsFailed: 1 });
  });

  it("flushes through the middy middleware after the handler, without a ColdStart metric", async () => {
    const m = await loadMetrics({ POWERTOOLS_METRICS_DISABLED: "false" });
    const output = captureStdout();
    const middleware = m.logMetrics();
    const request = { event: {}, context: { functionName: "wxcoupon-api" }, internal: {} } as never;
    await middleware.before?.(request);
    m.recordSendOutcome("sent");
    await middleware.after?.(request);
    const emitted = output();
    expect(emitted).toHaveLength(1);
    expect(emitted[0]).toMatchObject({ CouponsSent: 1 });
    expect(JSON.stringify(emitted)).not.toContain("ColdStart");
  });
});
