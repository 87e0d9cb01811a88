import { describe, expect, it } from "vitest";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import { EVENT_CHANGE_FILTERS } from "#shared/adapters/dynamodb/table-stream.js";
import { EVENTS_MAX_RECEIVE_COUNT, SEND_MAX_RECEIVE_COUNT } from "#shared/config/queue-settings.js";
import { ROUTES } from "#shared/edges/http/routes.js";
import { DEFAULT_SEND_RATE_PER_SECOND } from "../../../infra/config.js";
import {
  EVENTS_STREAM_MAX_RECORD_AGE,
  EVENTS_STREAM_RETRY_ATTEMPTS,
  EXPORT_MAX_CONCURRENCY,
  EXPORT_MAX_RECEIVE_COUNT,
  EXPORT_OBJECT_DAYS,
  EXPORT_QUEUE_VISIBILITY,
  FUNCTION_SIZING,
  NOTIFY_ROUTE_THROTTLE,
  SEND_QUEUE_VISIBILITY,
  workerMaxConcurrency,
} from "../../../infra/settings.js";
import { type ResolveContext, resolveString, resolveValue } from "../../../local/stack/template/intrinsics.js";
import { loadServiceModel } from "../../../local/stack/template/read-template.js";

// The real app, synthesized in-process without bundling (local/stack/template/synthesize.ts).
const model = loadServiceModel();

describe("the local stack's model of the synthesized template", () => {
  it("reads each function's timeout, memory size and environment names as the template sets them", () => {
    for (const kind of ["api", "send-api", "send-worker", "notify", "reconcile", "sweeper"] as const) {
      const fn = model.functions[kind]!;
      expect(fn.timeoutSeconds).toBe(FUNCTION_SIZING[kind].timeout.toSeconds());
      expect(fn.memorySize).toBe(FUNCTION_SIZING[kind].memorySize);
      expect(fn.reservedConcurrency).toBe(FUNCTION_SIZING[kind].reservedConcurrency);
    }
    expect(Object.keys(model.functions["send-worker"]!.environment)).toEqual(
      expect.arrayContaining(["TABLE_NAME", "SEND_QUEUE_URL", "SEND_DLQ_URL", "SECRET_ID", "SEND_RATE_PER_SECOND"]),
    );
    expect(model.functions.api!.environment).not.toHaveProperty("SEND_DLQ_URL");
    // The one-off send's function: no queue, no bucket.
    expect(
      Object.keys(model.functions["send-api"]!.environment).filter((n) => /_(QUEUE|DLQ)_URL$|_BUCKET_NAME$/.test(n)),
    ).toEqual([]);
    // public-key mode (the default context) has no certificate refresh function
    expect(model.functions["cert-refresh"]).toBeUndefined();
  });

  it("takes context overrides into the template, e.g. the send rate into env and the mapping's concurrency", () => {
    const slow = loadServiceModel({ sendRatePerSecond: 40 });
    expect(slow.functions["send-worker"]!.environment.SEND_RATE_PER_SECOND).toBe("40");
    const slowWorker = slow.eventSourceMappings.find((m) => m.functionKind === "send-worker");
    expect(slowWorker!.maximumConcurrency).toBe(workerMaxConcurrency(40));
  });

  it("reads the schedules: the reconcile function's EventBridge Scheduler one, the sweeper's rule, cert-refresh's", () => {
    expect(model.schedules).toEqual(
      expect.arrayContaining([
        {
          logicalId: expect.any(String),
          functionKind: "reconcile",
          rateSeconds: 60,
          enabled: true,
          source: "scheduler",
        },
        {
          logicalId: expect.stringMatching(/^SweeperSchedule/),
          functionKind: "sweeper",
          rateSeconds: 60,
          enabled: true,
          source: "events",
        },
      ]),
    );
    expect(model.schedules).toHaveLength(2);
    const platform = loadServiceModel({ wechatpayMode: "platform_certificate" });
    expect(platform.schedules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ functionKind: "cert-refresh", rateSeconds: 12 * 3_600, source: "events" }),
        expect.objectContaining({ functionKind: "reconcile", rateSeconds: 60, source: "scheduler" }),
        expect.objectContaining({ functionKind: "sweeper", rateSeconds: 60, source: "events" }),
      ]),
    );
  });

  it("reads the send worker's and the export function's event source mappings", () => {
    // The send worker's, the events publisher's (the table stream), the event forwarder's and the export function's.
    expect(model.eventSourceMappings).toHaveLength(4);
    expect(model.eventSourceMappings.find((m) => m.functionKind === "export")).toMatchObject({
      batchSize: 1,
      maximumConcurrency: EXPORT_MAX_CONCURRENCY,
      functionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(model.eventSourceMappings.find((m) => m.functionKind === "send-worker")).toMatchObject({
      functionKind: "send-worker",
      batchSize: 10,
      maximumBatchingWindowSeconds: 1,
      maximumConcurrency: workerMaxConcurrency(DEFAULT_SEND_RATE_PER_SECOND),
      functionResponseTypes: ["ReportBatchItemFailures"],
      enabled: true,
    });
  });

  it("reads the events publisher's stream mapping, the table's stream and the bus with its rule", () => {
    expect(model.eventSourceMappings.find((m) => m.functionKind === "events-publisher")).toMatchObject({
      filters: EVENT_CHANGE_FILTERS,
      functionResponseTypes: ["ReportBatchItemFailures"],
      stream: {
        startingPosition: "TRIM_HORIZON",
        maximumRetryAttempts: EVENTS_STREAM_RETRY_ATTEMPTS,
        maximumRecordAgeInSeconds: EVENTS_STREAM_MAX_RECORD_AGE.toSeconds(),
        bisectBatchOnFunctionError: true,
      },
    });
    expect(model.table.streamViewType).toBe("NEW_AND_OLD_IMAGES");
    expect(model.eventBus.name).toBe("wxcoupon-local");
    // The coupon-events queue's rule and the HTTP forwarder's.
    expect(model.eventBus.rules).toHaveLength(2);
    for (const rule of model.eventBus.rules) {
      expect(rule).toMatchObject({
        pattern: { source: ["wxcoupon"] },
        targets: [expect.objectContaining({ maximumRetryAttempts: 185, deadLetterArn: expect.anything() })],
      });
    }
  });

  it("reads each queue's visibility timeout and redrive policy, DLQ included", () => {
    expect(model.queues.send).toMatchObject({
      visibilityTimeoutSeconds: SEND_QUEUE_VISIBILITY.toSeconds(),
      redrive: { maxReceiveCount: SEND_MAX_RECEIVE_COUNT, deadLetterRole: "sendDlq" },
    });
    expect(model.queues.events).toMatchObject({
      visibilityTimeoutSeconds: 30,
      redrive: { maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT, deadLetterRole: "eventsDlq" },
    });
    expect(model.queues.sendDlq.redrive).toBeUndefined();
    expect(model.queues.exports).toMatchObject({
      visibilityTimeoutSeconds: EXPORT_QUEUE_VISIBILITY.toSeconds(),
      redrive: { maxReceiveCount: EXPORT_MAX_RECEIVE_COUNT, deadLetterRole: "exportsDlq" },
    });
  });

  it("reads the export bucket: its fixed name, lifecycle expiration, TLS-only policy and encryption", () => {
    expect(model.exportBucket).toMatchObject({
      name: "wxcoupon-local-exports-000000000000-us-east-1",
      expirationDays: EXPORT_OBJECT_DAYS,
      abortIncompleteUploadDays: 1,
      tlsOnly: true,
      encryption: "AES256",
    });
  });

  it("reads the table's keys, indexes and TTL attribute", () => {
    expect(model.table).toMatchObject({
      partitionKey: { name: TABLE_SPEC.partitionKey.name, type: TABLE_SPEC.partitionKey.type },
      timeToLiveAttribute: TABLE_SPEC.timeToLiveAttribute,
      billingMode: "PAY_PER_REQUEST",
    });
    expect(model.table.globalSecondaryIndexes.map((g) => g.indexName)).toEqual(
      TABLE_SPEC.globalSecondaryIndexes.map((g) => g.indexName),
    );
  });

  it("reads every route with its authorization type and target function", () => {
    expect(model.routes).toHaveLength(ROUTES.length);
    const webhook = model.routes.find((r) => r.path === "/notify/wechatpay")!;
    expect(webhook).toMatchObject({ method: "POST", authorizationType: "NONE", functionKind: "notify" });
    // The stage's throttles: the webhook's own route settings, the stage default for every other route.
    expect(webhook.throttle).toEqual(NOTIFY_ROUTE_THROTTLE);
    const coupons = model.routes.find((r) => r.method === "POST" && r.path === "/coupons")!;
    expect(coupons.throttle).toEqual({
      rateLimit: DEFAULT_SEND_RATE_PER_SECOND,
      burstLimit: DEFAULT_SEND_RATE_PER_SECOND,
    });
    // POST /coupons alone on send-api (its own execution environments), every other caller route on api.
    expect(coupons.functionKind).toBe("send-api");
    expect(model.routes.filter((r) => r.functionKind === "send-api")).toHaveLength(1);
    expect(model.routes.find((r) => r.method === "GET" && r.path === "/coupons/{coupon_id}")!.functionKind).toBe("api");
    for (const route of ROUTES) {
      const read = model.routes.find((r) => r.method === route.method && r.path === route.path)!;
      expect(read.functionKind, `${route.method} ${route.path}`).toBe(route.target);
    }
    expect(
      model.routes.filter((r) => r.functionKind !== "notify").every((r) => r.authorizationType === "AWS_IAM"),
    ).toBe(true);
  });

  it("reads role statements, cross-stack references still unresolved", () => {
    const statements = model.functions["send-worker"]!.statements;
    const actions = statements.flatMap((s) => [s.Action ?? []].flat());
    expect(actions).toEqual(expect.arrayContaining(["dynamodb:UpdateItem", "sqs:ReceiveMessage"]));
    expect(JSON.stringify(statements)).toContain("Fn::ImportValue");
  });
});

describe("resolving intrinsics against local resources", () => {
  const { synthesized } = model;
  const ctx: ResolveContext = {
    stacks: synthesized.templates,
    account: "000000000000",
    region: "us-east-1",
    physical: (_stack, id) => ({
      ref: `ref-of-${id}`,
      attributes: { Arn: `arn-of-${id}`, QueueName: `name-of-${id}` },
    }),
  };

  it("follows Fn::ImportValue into the exporting stack, and Fn::Join around it", () => {
    const worker = model.functions["send-worker"]!;
    expect(resolveString(worker.environment.TABLE_NAME, synthesized.serviceStackName, ctx)).toBe(
      `ref-of-${synthesized.logicalIds.table}`,
    );
    const index = worker.statements.find((s) => JSON.stringify(s.Resource).includes("/index/"))!;
    expect(resolveValue(index.Resource, synthesized.serviceStackName, ctx)).toBe(
      `arn-of-${synthesized.logicalIds.table}/index/gsi1`,
    );
  });

  it("resolves Fn::Sub with pseudo parameters, attributes and explicit variables", () => {
    // Fn::Sub's own `${…}` syntax, not JavaScript template strings.
    const d = "$";
    const text = `arn:${d}{AWS::Partition}:x:${d}{AWS::Region}:${d}{AWS::AccountId}:${d}{Q.Arn}/${d}{v}${d}{!lit}`;
    const value = { "Fn::Sub": [text, { v: "w" }] };
    expect(resolveValue(value, "s", ctx)).toBe(`arn:aws:x:us-east-1:000000000000:arn-of-Q/w${d}{lit}`);
  });

  it("refuses an export no stack has", () => {
    expect(() => resolveValue({ "Fn::ImportValue": "nope" }, "s", ctx)).toThrow(/no stack exports nope/);
  });
});
