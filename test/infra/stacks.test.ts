import { readFileSync } from "node:fs";
import { App, type CfnElement, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { beforeAll, describe, expect, it } from "vitest";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import { EVENT_CHANGE_FILTERS } from "#shared/adapters/dynamodb/table-stream.js";
import { MERCHANT_HOLD_CODES } from "#shared/domain/sends/failure-policy.js";
import { ROUTES, scopesOf } from "#shared/edges/http/routes.js";
import { MERCHANT_REFUSAL_CODES } from "../../infra/constructs/monitoring.js";
import {
  ENV_SCHEMAS,
  ESBUILD_TARGET,
  type FunctionKind,
  PLATFORM_ENV,
  RUNTIME,
  WX_BUNDLING,
  WxFunction,
} from "../../infra/constructs/wx-function.js";
import { METRIC } from "../../infra/metrics.js";
import {
  LAMBDA_UNRESERVED_MINIMUM,
  NOTIFY_RESERVED_CONCURRENCY,
  NOTIFY_ROUTE_THROTTLE,
  SEND_QUEUE_VISIBILITY,
  VISIBILITY_FACTOR,
  workerMaxConcurrency,
} from "../../infra/settings.js";
import { executeApiPath } from "../../infra/stacks/service-stack.js";
import { MERCHANT_SECRET_FIELDS } from "../../infra/stacks/stateful-stack.js";
import {
  actionsOf,
  buildTestApp,
  functionEnvironment,
  functionLogicalId,
  type Resource,
  resourcesOf,
  resourcesOfType,
  roleStatements,
  type Statement,
  type TestApp,
} from "./test-app.js";

const logicalIdOf = functionLogicalId;
const statementsOf = roleStatements;

function dataActions(statements: Statement[], prefix: string): string[] {
  return [...new Set(statements.flatMap(actionsOf).filter((a) => a.startsWith(prefix)))].sort();
}

/** Data grants of `kind` as "action on <stateful resource>" (logical id without its hash, index path kept). */
function dataGrants(built: TestApp, kind: FunctionKind): string[] {
  const ids = Object.keys(built.statefulTemplate.toJSON().Resources);
  const name = (resource: unknown): string => {
    const text = JSON.stringify(resource);
    const id = ids.filter((i) => text.includes(i)).sort((a, b) => b.length - a.length)[0];
    if (id === undefined) return text;
    const index = /\/index\/([A-Za-z0-9_.-]+)/.exec(text)?.[1];
    return `${id.replace(/[A-F0-9]{8}$/, "")}${index ? `/index/${index}` : ""}`;
  };
  return statementsOf(built, kind)
    .filter((s) => s.Effect === "Allow")
    .flatMap((s) =>
      actionsOf(s)
        .filter((a) => /^(dynamodb|sqs|secretsmanager|kms|events):/.test(a))
        .flatMap((a) => resourcesOf(s).map((r) => `${a} on ${name(r)}`)),
    )
    .sort();
}

/** Stand-ins for the CloudFormation intrinsics a template value holds, so the zod schemas can judge them. */
function resolveForSchema(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (name.endsWith("_URL")) return "https://sqs.ap-east-1.amazonaws.com/111111111111/resolved-queue";
  return "resolved-at-deploy";
}

describe("service stack (default: IAM auth, public-key mode)", () => {
  let built: TestApp;
  beforeAll(() => {
    built = buildTestApp();
  });

  it("creates one route per ROUTES entry, IAM on caller routes and none on the webhook only", () => {
    const routes = resourcesOfType(built.serviceTemplate, "AWS::ApiGatewayV2::Route");
    expect(routes).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const found = routes.filter(([, r]) => r.Properties?.RouteKey === `${route.method} ${route.path}`);
      expect(found, `${route.method} ${route.path}`).toHaveLength(1);
      expect(found[0]![1].Properties?.AuthorizationType, `${route.method} ${route.path}`).toBe(
        route.auth === "public" ? "NONE" : "AWS_IAM",
      );
    }
    const publicRoutes = routes.filter(([, r]) => r.Properties?.AuthorizationType === "NONE");
    expect(publicRoutes.map(([, r]) => r.Properties?.RouteKey)).toEqual(["POST /notify/wechatpay"]);
  });

  it("sends each route to the function named by its target", () => {
    const integrations = new Map(resourcesOfType(built.serviceTemplate, "AWS::ApiGatewayV2::Integration"));
    const routes = resourcesOfType(built.serviceTemplate, "AWS::ApiGatewayV2::Route");
    for (const route of ROUTES) {
      const [, r] = routes.find(([, x]) => x.Properties?.RouteKey === `${route.method} ${route.path}`)!;
      const target = JSON.stringify(r.Properties?.Target);
      const integrationId = [...integrations.keys()].find((id) => target.includes(id))!;
      const uri = JSON.stringify(integrations.get(integrationId)!.Properties?.IntegrationUri);
      expect(uri, route.path).toContain(logicalIdOf(built, route.target));
    }
  });

  it("serves POST /coupons from the send-api function alone, every other caller route from api", () => {
    // Issue 15: campaign posts, status reads and exports on api never hold the one-off send's environments.
    const sendApi = logicalIdOf(built, "send-api");
    const routes = resourcesOfType(built.serviceTemplate, "AWS::ApiGatewayV2::Route");
    const integrations = new Map(resourcesOfType(built.serviceTemplate, "AWS::ApiGatewayV2::Integration"));
    const functionOf = (routeKey: string) => {
      const [, r] = routes.find(([, x]) => x.Properties?.RouteKey === routeKey)!;
      const target = JSON.stringify(r.Properties?.Target);
      const integrationId = [...integrations.keys()].find((id) => target.includes(id))!;
      return JSON.stringify(integrations.get(integrationId)!.Properties?.IntegrationUri);
    };
    const served = routes
      .map(([, r]) => r.Properties!.RouteKey as string)
      .filter((key) => functionOf(key).includes(sendApi));
    expect(served).toEqual(["POST /coupons"]);
    expect(functionOf("GET /coupons/{coupon_id}")).toContain(logicalIdOf(built, "api"));
    const fn = built.serviceTemplate.toJSON().Resources[sendApi].Properties;
    expect(fn).toMatchObject({ Timeout: 20, MemorySize: 256 });
    expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    // Generic per-function monitoring: its errors and throttles alarm like every function's.
    for (const metric of ["Errors", "Throttles"]) {
      built.serviceTemplate.hasResourceProperties("AWS::CloudWatch::Alarm", {
        AlarmName: `wxcoupon-test-SendApi${metric}`,
      });
    }
  });

  it("splits execute-api:Invoke in two caller policies: send and read for applications, admin and read for operators", () => {
    /** "METHOD /path/*" of each route a managed policy allows. */
    const allowed = (logicalIdPrefix: string) => {
      const policies = resourcesOfType(built.serviceTemplate, "AWS::IAM::ManagedPolicy").filter(([id]) =>
        id.startsWith(logicalIdPrefix),
      );
      expect(policies, logicalIdPrefix).toHaveLength(1);
      const statements = (policies[0]![1].Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
      expect(statements.flatMap(actionsOf)).toEqual(["execute-api:Invoke"]);
      return statements
        .flatMap(resourcesOf)
        .map((r) => /\$default\/(GET|POST)(\/[^"]*)"/.exec(JSON.stringify(r))!.slice(1).join(" "))
        .sort();
    };
    const expected = (levels: readonly string[]) =>
      ROUTES.filter((r) => levels.includes(r.access))
        .map((r) => `${r.method} ${executeApiPath(r.path)}`)
        .sort();
    expect(resourcesOfType(built.serviceTemplate, "AWS::IAM::ManagedPolicy")).toHaveLength(2);
    const caller = allowed("CallerPolicy");
    expect(caller).toEqual(expected(["send", "read"]));
    expect(allowed("AdminPolicy")).toEqual(expected(["admin", "read"]));
    // An application's policy cannot redirect WeChat's notifications or touch a stock's lifecycle.
    for (const adminRoute of ["POST /callbacks", "POST /stocks", "POST /stocks/*/start", "POST /stocks/*/stop"]) {
      expect(caller).not.toContain(adminRoute);
    }
    expect(caller).toContain("POST /coupons");
    expect([...caller, ...allowed("AdminPolicy")].some((r) => r.includes("notify"))).toBe(false);
    built.serviceTemplate.hasOutput("CallerPolicyArn", {});
    built.serviceTemplate.hasOutput("AdminPolicyArn", {});
  });

  it("logs access in JSON and throttles the stage at the send rate", () => {
    const [stage] = resourcesOfType<{
      AccessLogSettings: { Format: string };
      StageName: string;
      DefaultRouteSettings: unknown;
    }>(built.serviceTemplate, "AWS::ApiGatewayV2::Stage");
    const props = stage![1].Properties!;
    const format = JSON.parse(props.AccessLogSettings.Format);
    expect(format.requestId).toBe("$context.requestId");
    expect(props.StageName).toBe("$default");
    expect(props.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 500, ThrottlingBurstLimit: 500 });
  });

  it("throttles the public WeChat webhook on its own route settings, not the stage default", () => {
    const stages = resourcesOfType<{ RouteSettings: Record<string, unknown> }>(
      built.serviceTemplate,
      "AWS::ApiGatewayV2::Stage",
    );
    expect(stages).toHaveLength(1);
    const stage = stages[0]![1] as Resource<{ RouteSettings: Record<string, unknown> }> & { DependsOn?: string[] };
    const props = stage.Properties!;
    const webhook = ROUTES.find((r) => r.auth === "public")!;
    expect(props.RouteSettings).toEqual({
      [`${webhook.method} ${webhook.path}`]: {
        ThrottlingRateLimit: NOTIFY_ROUTE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: NOTIFY_ROUTE_THROTTLE.burstLimit,
      },
    });
    // Sized to WeChat's notification rate (infra/settings.ts), far below the callers' default of 500/s.
    expect(NOTIFY_ROUTE_THROTTLE.rateLimit).toBeLessThan(500);
    expect(NOTIFY_ROUTE_THROTTLE.burstLimit).toBeGreaterThanOrEqual(NOTIFY_ROUTE_THROTTLE.rateLimit);
    // RouteSettings must name an existing route: the stage is deployed after the webhook route.
    const routeLogicalId = built.service.getLogicalId(
      built.service.routes.get(`${webhook.method}${webhook.path}`)!.node.defaultChild as CfnElement,
    );
    expect(stage.DependsOn).toContain(routeLogicalId);
  });

  it("caps notify with reserved concurrency; the service reserves far less than the account's 1,000", () => {
    const reserved = (b: TestApp) =>
      Object.fromEntries(
        resourcesOfType<{ ReservedConcurrentExecutions?: number }>(b.serviceTemplate, "AWS::Lambda::Function").map(
          ([id, f]) => [id, f.Properties?.ReservedConcurrentExecutions],
        ),
      );
    const here = reserved(built);
    expect(here[logicalIdOf(built, "notify")]).toBe(NOTIFY_RESERVED_CONCURRENCY);
    // api, send-api and send-worker draw on the unreserved pool notify can no longer drain; the worker is capped by its
    // event source mapping instead (reserved concurrency would only throttle the mapping's batches).
    expect(here[logicalIdOf(built, "api")]).toBeUndefined();
    expect(here[logicalIdOf(built, "send-api")]).toBeUndefined();
    expect(here[logicalIdOf(built, "send-worker")]).toBeUndefined();
    for (const b of [built, buildTestApp({ wechatpayMode: "platform_certificate" })]) {
      const sum = Object.values(reserved(b)).reduce<number>((total, n) => total + (n ?? 0), 0);
      expect(sum).toBeLessThanOrEqual(100);
      expect(1_000 - sum).toBeGreaterThanOrEqual(LAMBDA_UNRESERVED_MINIMUM + workerMaxConcurrency(500));
    }
    // Warm, notify answers in ~4 ms p50 / 11 ms p99 (BENCHMARKS.md, end to end): even at 50 ms each, the reserved
    // environments serve more than the route lets through, so API Gateway's 429 comes before a Lambda throttle.
    expect(NOTIFY_RESERVED_CONCURRENCY / 0.05).toBeGreaterThanOrEqual(NOTIFY_ROUTE_THROTTLE.rateLimit);
  });

  it("maps the send queue with partial batch responses and a concurrency cap from the rate", () => {
    // The send queue's, the table stream's (the events publisher), the forward queue's and the export queue's.
    built.serviceTemplate.resourceCountIs("AWS::Lambda::EventSourceMapping", 4);
    built.serviceTemplate.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(built, "send-worker") },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      // ceil(500 / SENDS_PER_ENVIRONMENT) at the default rate (infra/settings.ts).
      ScalingConfig: { MaximumConcurrency: 13 },
      BatchSize: Match.anyValue(),
    });
    const [mapping] = resourcesOfType<{
      BatchSize: number;
      MaximumBatchingWindowInSeconds: number;
      FunctionName: unknown;
    }>(built.serviceTemplate, "AWS::Lambda::EventSourceMapping").filter(
      ([, m]) =>
        JSON.stringify(m.Properties?.FunctionName) === JSON.stringify({ Ref: logicalIdOf(built, "send-worker") }),
    );
    const props = mapping![1].Properties!;
    expect(props.BatchSize).toBeLessThanOrEqual(10);
    expect(props.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(props.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(5);
  });

  it("keeps the send queue's visibility timeout at least 6 × the worker's timeout", () => {
    const [queue] = resourcesOfType<{ VisibilityTimeout: number }>(built.statefulTemplate, "AWS::SQS::Queue").filter(
      ([id]) => id.startsWith("SendQueue"),
    );
    const worker = built.serviceTemplate.toJSON().Resources[logicalIdOf(built, "send-worker")];
    expect(worker.Properties.Timeout).toBeGreaterThan(0);
    expect(queue![1].Properties!.VisibilityTimeout).toBeGreaterThanOrEqual(
      VISIBILITY_FACTOR * worker.Properties.Timeout,
    );
  });

  it("keeps the send queue a standard queue: its fair-queue delivery comes from MessageGroupId, not from a setting", () => {
    // docs/aws-notes.md#fair-queues: a FIFO queue would instead deliver one message per group at a time.
    const queues = resourcesOfType(built.statefulTemplate, "AWS::SQS::Queue");
    const send = queues.filter(([id]) => id.startsWith("SendQueue") || id.startsWith("SendDlq"));
    expect(send).toHaveLength(2);
    for (const [id, q] of send) expect(q.Properties?.FifoQueue, id).toBeUndefined();
  });

  it("deploys the Node major that tests and the local stack run on (package.json devDependencies.node)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    const major = String(pkg.devDependencies.node).split(".")[0];
    expect(RUNTIME.name).toBe(`nodejs${major}.x`);
    expect(ESBUILD_TARGET).toBe(`node${major}`);
    expect(WX_BUNDLING.target).toBe(ESBUILD_TARGET);
    for (const [id, fn] of resourcesOfType(built.serviceTemplate, "AWS::Lambda::Function")) {
      expect(fn.Properties?.Runtime, id).toBe(`nodejs${major}.x`);
    }
  });

  it("runs every function on nodejs24.x, arm64, with X-Ray and its own log group", () => {
    const functions = resourcesOfType(built.serviceTemplate, "AWS::Lambda::Function");
    // api, send-api, send-worker, notify, reconcile, sweeper, events-publisher, event-forwarder, export (no
    // cert-refresh in public-key mode).
    expect(functions).toHaveLength(9);
    for (const [id, fn] of functions) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogGroup: expect.anything() },
      });
    }
    built.serviceTemplate.resourcePropertiesCountIs(
      "AWS::Logs::LogGroup",
      { RetentionInDays: Match.anyValue() },
      resourcesOfType(built.serviceTemplate, "AWS::Logs::LogGroup").length,
    );
    // Own roles: no AWSLambdaBasicExecutionRole managed policy (cdk-nag IAM4).
    for (const [, role] of resourcesOfType(built.serviceTemplate, "AWS::IAM::Role")) {
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it("sets each function's environment to exactly its schema in shared/config/env.ts (plus platform vars)", () => {
    const resources = built.serviceTemplate.toJSON().Resources;
    for (const kind of ["api", "send-api", "send-worker", "notify", "reconcile", "export"] as const) {
      const vars = resources[logicalIdOf(built, kind)].Properties.Environment.Variables as Record<string, unknown>;
      const own = Object.fromEntries(
        Object.entries(vars)
          .filter(([name]) => !(name in PLATFORM_ENV))
          .map(([name, value]) => [name, resolveForSchema(name, value)]),
      );
      const result = ENV_SCHEMAS[kind].strict().safeParse(own);
      expect(result.error?.issues ?? [], kind).toEqual([]);
      // Required keys (no default) must come from the stack, not be left to chance.
      for (const [key, schema] of Object.entries(ENV_SCHEMAS[kind].shape)) {
        if (!(schema as { safeParse: (v: unknown) => { success: boolean } }).safeParse(undefined).success) {
          expect(vars, `${kind}.${key}`).toHaveProperty(key);
        }
      }
      expect(vars).toMatchObject(PLATFORM_ENV);
    }
    const workerVars = resources[logicalIdOf(built, "send-worker")].Properties.Environment.Variables;
    expect(workerVars).toMatchObject({ SEND_RATE_PER_SECOND: "500" });
    expect(workerVars).not.toHaveProperty("WORKER_MAX_CONCURRENCY");
    // Public-key mode: no function may download certificates (shared/adapters/wechatpay/merchant-runtime.ts).
    for (const kind of ["api", "send-api", "send-worker", "notify"] as const) {
      expect(functionEnvironment(built, kind).WECHATPAY_MODE, kind).toBe("public_key");
    }
  });

  it("scopes every data action to the table, its named index, the queues and the secret (no '*')", () => {
    const policies = [
      ...resourcesOfType(built.serviceTemplate, "AWS::IAM::Policy"),
      ...resourcesOfType(built.serviceTemplate, "AWS::IAM::ManagedPolicy"),
    ];
    expect(policies.length).toBeGreaterThan(0);
    for (const [id, policy] of policies) {
      for (const statement of (policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement) {
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        // S3: object actions on the export bucket's exports/ prefix only (its one wildcard is the object key).
        for (const action of actionsOf(statement).filter((a) => a.startsWith("s3:"))) {
          expect(["s3:GetObject", "s3:PutObject"], `${id} ${action}`).toContain(action);
          expect(JSON.stringify(resources), `${id} ${action}`).toMatch(
            /s3:::wxcoupon-test-exports-[^"*]+\/exports\/\*"/,
          );
        }
        const data = actionsOf(statement).filter((a) => /^(dynamodb|sqs|secretsmanager|kms):/.test(a));
        if (data.length === 0) continue;
        for (const resource of resources) {
          expect(JSON.stringify(resource), `${id} ${data.join(",")}`).not.toContain("*");
        }
        const text = JSON.stringify(resources);
        for (const action of data) {
          const expected = action.startsWith("dynamodb:")
            ? /Table/
            : action.startsWith("secretsmanager:")
              ? /MerchantSecret|EventSigningSecret/
              : /Queue|Dlq/;
          expect(text, `${id} ${action}`).toMatch(expected);
        }
      }
    }
  });

  it("gives each function exactly the data actions its adapters call, each on the resource it calls it on", () => {
    // The same pairs test/integration/service/function-grants.test.ts records from the real adapters; here as a
    // readable list, so a change to a grant shows in this diff too.
    const table = ["dynamodb:GetItem on Table", "dynamodb:PutItem on Table", "dynamodb:UpdateItem on Table"];
    const index = `dynamodb:Query on Table/index/${TABLE_SPEC.globalSecondaryIndexes[0].indexName}`;
    const secret = "secretsmanager:GetSecretValue on MerchantSecret";
    expect(dataGrants(built, "export")).toEqual(
      [
        // Its export record (GetItem, conditional UpdateItem), the send records it pages through (gsi1), the stock's
        // issued coupons (gsi2) and their records (BatchGetItem); no secret.
        "dynamodb:GetItem on Table",
        "dynamodb:BatchGetItem on Table",
        "dynamodb:UpdateItem on Table",
        index,
        `dynamodb:Query on Table/index/${TABLE_SPEC.globalSecondaryIndexes[1].indexName}`,
        // The continuation of a long export, and the mapping's own calls.
        "sqs:SendMessage on ExportQueue",
        "sqs:ReceiveMessage on ExportQueue",
        "sqs:DeleteMessage on ExportQueue",
        "sqs:GetQueueAttributes on ExportQueue",
      ].sort(),
    );
    expect(dataGrants(built, "api")).toEqual(
      [
        ...table,
        "dynamodb:BatchWriteItem on Table",
        index,
        secret,
        "sqs:SendMessage on SendQueue",
        "sqs:SendMessage on EventForwardQueue",
        "sqs:SendMessage on ExportQueue",
      ].sort(),
    );
    expect(dataGrants(built, "send-worker")).toEqual(
      [
        ...table,
        index,
        secret,
        // Its own adapters: re-enqueue a waiting send on its last receive, back off a retryable one.
        "sqs:SendMessage on SendQueue",
        "sqs:ChangeMessageVisibility on SendQueue",
        // The event source mapping polls with the function's role.
        "sqs:ReceiveMessage on SendQueue",
        "sqs:DeleteMessage on SendQueue",
        "sqs:GetQueueAttributes on SendQueue",
        // Poison messages, with their reason.
        "sqs:SendMessage on SendDlq",
      ].sort(),
    );
    // POST /coupons alone: its ledger record, the coupon's record and the rate counter, the secret; no Query (in
    // public-key mode no certificate cache), no BatchWriteItem, no queue, no bucket.
    expect(dataGrants(built, "send-api")).toEqual([...table, secret].sort());
    expect(dataActions(statementsOf(built, "send-api"), "s3:")).toEqual([]);
    // No Query: in public-key mode notify reads no certificate cache (platform-certificate mode adds it).
    // Nothing else: the webhook publishes nothing (the table's stream does, docs/events.md#outbox).
    expect(dataGrants(built, "notify")).toEqual([...table, secret].sort());
    // Reads coupons 100 at a time (BatchGetItem); no queue: it publishes nothing itself.
    // gsi2 (a stock's issued coupons) for the expiry phase: the only function that reads it.
    const stockIndex = `dynamodb:Query on Table/index/${TABLE_SPEC.globalSecondaryIndexes[1].indexName}`;
    expect(dataGrants(built, "reconcile")).toEqual(
      [...table, "dynamodb:BatchGetItem on Table", index, stockIndex, secret].sort(),
    );
    // Reads campaigns and their sends, writes its progress, seals, cancels and recounts (UpdateItem only: no
    // PutItem), queues lost sends again; no secret, no DLQ, no WeChat.
    expect(dataGrants(built, "sweeper")).toEqual(
      ["dynamodb:GetItem on Table", "dynamodb:UpdateItem on Table", index, "sqs:SendMessage on SendQueue"].sort(),
    );
  });

  it("runs the sweeper every minute, without retries, inside its own timeout, stalls longer than a visibility", () => {
    const sweeper = logicalIdOf(built, "sweeper");
    built.serviceTemplate.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [sweeper, "Arn"] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
    built.serviceTemplate.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [sweeper, "Arn"] },
      Principal: "events.amazonaws.com",
    });
    const fn = built.serviceTemplate.toJSON().Resources[sweeper].Properties;
    expect(fn).toMatchObject({ Timeout: 60, MemorySize: 256 });
    const env = functionEnvironment(built, "sweeper");
    expect(Number(env.SWEEPER_STALL_SECONDS)).toBeGreaterThan(SEND_QUEUE_VISIBILITY.toSeconds());
    expect(env.WECHATPAY_MODE).toBeUndefined();
    const own = Object.fromEntries(
      Object.entries(env)
        .filter(([n]) => !(n in PLATFORM_ENV))
        .map(([n, v]) => [n, resolveForSchema(n, v)]),
    );
    expect(ENV_SCHEMAS.sweeper.strict().safeParse(own).success).toBe(true);
    built.serviceTemplate.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "wxcoupon-test-SweeperErrors" });
  });

  it("runs the reconcile function on an EventBridge Scheduler schedule, every minute, through a role that may only invoke it", () => {
    const reconcile = logicalIdOf(built, "reconcile");
    const schedules = resourcesOfType(built.serviceTemplate, "AWS::Scheduler::Schedule");
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0]!;
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: { "Fn::GetAtt": [reconcile, "Arn"] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
    const { Target: target } = schedule.Properties as { Target: { RoleArn: { "Fn::GetAtt": [string, string] } } };
    const roleId = target.RoleArn["Fn::GetAtt"][0];
    const role = built.serviceTemplate.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" } }),
    ]);
    const policies = resourcesOfType(built.serviceTemplate, "AWS::IAM::Policy").filter(([, p]) =>
      (p.Properties as { Roles: { Ref: string }[] }).Roles.some((r) => r.Ref === roleId),
    );
    const statements = policies.flatMap(
      ([, p]) => (p.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument.Statement,
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements as { Action: unknown; Resource: unknown }[]) {
      expect(statement.Action).toBe("lambda:InvokeFunction");
      for (const resource of [statement.Resource].flat()) {
        expect(JSON.stringify(resource)).toContain(reconcile);
      }
    }
  });
  it("alarms on sends held because WeChat refuses the merchant: every code the failure policy holds them with", () => {
    expect([...MERCHANT_REFUSAL_CODES].sort()).toEqual(Object.values(MERCHANT_HOLD_CODES).sort());
    const [, merchantAlarm] = resourcesOfType(built.serviceTemplate, "AWS::CloudWatch::Alarm").find(
      ([, a]) => a.Properties?.AlarmName === "wxcoupon-test-MerchantRefused",
    )!;
    const metrics = (merchantAlarm.Properties!.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[])
      .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))
      .map((m) => ({ name: m.MetricName, dims: m.Dimensions }));
    expect(metrics).toEqual(
      MERCHANT_REFUSAL_CODES.map((code) => ({
        name: "CouponSendRetried",
        dims: expect.arrayContaining([
          { Name: "code", Value: code },
          { Name: "service", Value: "wxcoupon" },
        ]),
      })),
    );
    expect(merchantAlarm.Properties).toMatchObject({ Threshold: 1, TreatMissingData: "notBreaching" });
  });

  it("alarms on both DLQs, queue age, stalls, every function's errors and throttles, notify failures and API 5xx", () => {
    const names = resourcesOfType(built.serviceTemplate, "AWS::CloudWatch::Alarm").map(
      ([, a]) => a.Properties?.AlarmName,
    );
    expect(names).toEqual(
      expect.arrayContaining(
        [
          "SendDlqNotEmpty",
          "CouponEventsDlqNotEmpty",
          "ExportDlqNotEmpty",
          "EventsStreamDlqNotEmpty",
          "EventForwardDlqNotEmpty",
          "SendQueueOldMessage",
          "SendQueueStalled",
          "CouponEventsOldMessage",
          "ApiErrors",
          "ApiThrottles",
          "SendWorkerErrors",
          "SendWorkerThrottles",
          "NotifyErrors",
          "NotifyThrottles",
          "ExportErrors",
          "ExportThrottles",
          "NotifyFailures",
          "Api5xx",
          "MerchantRefused",
        ].map((n) => `wxcoupon-test-${n}`),
      ),
    );
    built.serviceTemplate.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "wxcoupon-test-SendDlqNotEmpty",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("draws the campaigns dashboard from the documented metric names", () => {
    const [dashboard] = resourcesOfType(built.serviceTemplate, "AWS::CloudWatch::Dashboard");
    const body = JSON.stringify(dashboard![1].Properties);
    for (const name of Object.values(METRIC)) expect(body).toContain(name);
    expect(body).toContain("wxcoupon");
  });

  it("has no certificate schedule or cert-refresh function in public-key mode", () => {
    // The one rule is the sweeper's.
    built.serviceTemplate.resourceCountIs("AWS::Events::Rule", 1);
    expect(built.service.functions["cert-refresh"]).toBeUndefined();
  });
});

describe("stateful stack", () => {
  let built: TestApp;
  beforeAll(() => {
    built = buildTestApp();
  });

  it("derives the table from table-definition.ts: on-demand, PITR, TTL, the GSIs", () => {
    built.statefulTemplate.resourceCountIs("AWS::DynamoDB::Table", 1);
    built.statefulTemplate.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: TABLE_SPEC.partitionKey.name, KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE_SPEC.timeToLiveAttribute, Enabled: true },
      GlobalSecondaryIndexes: TABLE_SPEC.globalSecondaryIndexes.map((gsi) => ({
        IndexName: gsi.indexName,
        KeySchema: [
          { AttributeName: gsi.partitionKey.name, KeyType: "HASH" },
          { AttributeName: gsi.sortKey.name, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: gsi.projection },
      })),
    });
  });

  it("dead-letters every queue into a 14-day DLQ (send and events after ≥ 5 receives), all SSE and TLS-only", () => {
    const queues = resourcesOfType(built.statefulTemplate, "AWS::SQS::Queue");
    // Plus the events stream's on-failure queue and the forwarder's queue and DLQ (checked with the events below), and
    // the export queue and its DLQ.
    expect(queues).toHaveLength(9);
    const sources = queues.filter(([, q]) => q.Properties?.RedrivePolicy);
    expect(sources.map(([id]) => id.replace(/[A-F0-9]{8}$/, "")).sort()).toEqual([
      "CouponEventsQueue",
      "EventForwardQueue",
      "ExportQueue",
      "SendQueue",
    ]);
    for (const [id, q] of sources) {
      const redrive = q.Properties!.RedrivePolicy as { maxReceiveCount: number; deadLetterTargetArn: unknown };
      // The export queue's message comes back only when an invocation died without handing its export on.
      expect(redrive.maxReceiveCount, id).toBeGreaterThanOrEqual(id.startsWith("ExportQueue") ? 3 : 5);
      if (id.startsWith("SendQueue")) {
        // The worker hands retries back as fresh messages on the last receive: it must know the same number.
        const resources = built.serviceTemplate.toJSON().Resources;
        const workerVars = resources[logicalIdOf(built, "send-worker")].Properties.Environment.Variables;
        expect(workerVars.SEND_MAX_RECEIVE_COUNT).toBe(String(redrive.maxReceiveCount));
      }
      const dlqId = JSON.stringify(redrive.deadLetterTargetArn).match(/"Fn::GetAtt":\["([^"]+)"/)![1]!;
      const dlq = queues.find(([qid]) => qid === dlqId)![1];
      expect(dlq.Properties?.MessageRetentionPeriod, dlqId).toBe(14 * 24 * 3600);
    }
    for (const [id, q] of queues) expect(q.Properties?.SqsManagedSseEnabled, id).toBe(true);
    const policies = resourcesOfType(built.statefulTemplate, "AWS::SQS::QueuePolicy");
    expect(policies).toHaveLength(9);
    for (const [, p] of policies) {
      expect(JSON.stringify(p.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("grants the export bucket's objects to the api (presigned reads) and the export function (writes, HeadObject) only", () => {
    expect(dataActions(statementsOf(built, "api"), "s3:")).toEqual(["s3:GetObject"]);
    // GetObject authorizes HeadObject: whether a completion S3 answered NoSuchUpload had succeeded before.
    expect(dataActions(statementsOf(built, "export"), "s3:")).toEqual(["s3:GetObject", "s3:PutObject"]);
    for (const kind of ["send-worker", "notify", "reconcile", "sweeper", "events-publisher"] as const) {
      expect(dataActions(statementsOf(built, kind), "s3:"), kind).toEqual([]);
    }
  });

  it("keeps exports in a private, encrypted, TLS-only bucket whose objects expire after 7 days", () => {
    const buckets = resourcesOfType<Record<string, unknown>>(built.statefulTemplate, "AWS::S3::Bucket");
    expect(buckets).toHaveLength(1);
    const props = buckets[0]![1].Properties!;
    expect(props).toMatchObject({
      BucketName: "wxcoupon-test-exports-111111111111-ap-east-1",
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
      LifecycleConfiguration: {
        Rules: [{ Status: "Enabled", ExpirationInDays: 7, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }],
      },
    });
    // enforceSSL: a bucket policy denying every request made without TLS.
    const [policy] = resourcesOfType(built.statefulTemplate, "AWS::S3::BucketPolicy");
    const document = JSON.stringify(policy![1].Properties?.PolicyDocument);
    expect(document).toContain('"Effect":"Deny"');
    expect(document).toContain('"aws:SecureTransport":"false"');
    // The export queue: its visibility covers 6 × the export function's timeout, like the send queue's.
    const [queue] = resourcesOfType<{ VisibilityTimeout: number }>(built.statefulTemplate, "AWS::SQS::Queue").filter(
      ([id]) => id.startsWith("ExportQueue"),
    );
    const fn = built.serviceTemplate.toJSON().Resources[logicalIdOf(built, "export")];
    expect(queue![1].Properties!.VisibilityTimeout).toBeGreaterThanOrEqual(VISIBILITY_FACTOR * fn.Properties.Timeout);
    expect(fn.Properties).toMatchObject({ MemorySize: 512, Timeout: 300 });
    built.serviceTemplate.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(built, "export") },
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("creates the merchant secret without a value, so no stack update can ever write over the operator's keys", () => {
    // The merchant's (the other one is the event forwarder's signing secret, created the same way).
    const secrets = resourcesOfType<Record<string, unknown>>(
      built.statefulTemplate,
      "AWS::SecretsManager::Secret",
    ).filter(([id]) => id.startsWith("MerchantSecret"));
    expect(secrets).toHaveLength(1);
    const props = secrets[0]![1].Properties!;
    // With neither property CloudFormation creates an empty secret and never manages its value
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html).
    expect(props).not.toHaveProperty("SecretString");
    expect(props).not.toHaveProperty("GenerateSecretString");
    expect(props.Name).toBe("wxcoupon/test/merchant");
    for (const field of MERCHANT_SECRET_FIELDS) expect(props.Description).toContain(field);
    // Another merchant id changes the description only: nothing in the template can reach the value.
    const other = buildTestApp({ mchid: "1900000002" });
    const changed = resourcesOfType<Record<string, unknown>>(
      other.statefulTemplate,
      "AWS::SecretsManager::Secret",
    ).filter(([id]) => id.startsWith("MerchantSecret"));
    expect({ ...changed[0]![1].Properties, Description: undefined }).toEqual({ ...props, Description: undefined });
    // The logical id the L2 Secret had: a deployed stack keeps its secret (a new id would replace it).
    const secretId = secrets[0]![0];
    expect(secretId).toBe("MerchantSecret1FB4A594");
    // The functions are granted the secret itself, by the ARN CloudFormation returns for it.
    expect(JSON.stringify(functionEnvironment(built, "api").SECRET_ID)).toContain(secretId);
  });

  it("outside prod: everything is destroyed with the stack", () => {
    expect(built.stateful.terminationProtection).toBe(false);
    const table = resourcesOfType(built.statefulTemplate, "AWS::DynamoDB::Table")[0]![1];
    expect(table.DeletionPolicy).toBe("Delete");
    expect(table.Properties?.DeletionProtectionEnabled).toBe(false);
  });
});

describe("events (docs/events.md)", () => {
  let built: TestApp;
  beforeAll(() => {
    built = buildTestApp();
  });

  it("streams the table with both images: the outbox", () => {
    built.statefulTemplate.hasResourceProperties("AWS::DynamoDB::Table", {
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
    });
  });

  it("publishes from the stream only: a filtered mapping, split on error and at the reported record, bounded retries and record age, with an on-failure queue", () => {
    built.serviceTemplate.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(built, "events-publisher") },
      EventSourceArn: { "Fn::ImportValue": Match.stringLikeRegexp("Table.*StreamArn") },
      StartingPosition: "TRIM_HORIZON",
      MaximumRetryAttempts: 100,
      // Six hours: the records an on-failure record points at stay in the stream (24 h) long enough to be replayed.
      MaximumRecordAgeInSeconds: 6 * 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      FilterCriteria: { Filters: EVENT_CHANGE_FILTERS.map((p) => ({ Pattern: JSON.stringify(p) })) },
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::ImportValue": Match.stringLikeRegexp("EventsStreamDlq") } },
      },
    });
    // Lambda's default quota of filters per mapping.
    expect(EVENT_CHANGE_FILTERS.length).toBeLessThanOrEqual(5);
    // A reconciliation run turning COMPLETED reaches the publisher (reconciliation.completed).
    expect(EVENT_CHANGE_FILTERS).toContainEqual({
      dynamodb: {
        NewImage: { type: { S: ["RECONCILIATION"] }, status: { S: ["COMPLETED"] } },
        OldImage: { status: { S: [{ "anything-but": ["COMPLETED"] }] } },
      },
    });
  });

  it("gives the publisher PutEvents on the bus and the stream's read actions, nothing of the table or a secret", () => {
    expect(dataGrants(built, "events-publisher")).toEqual(
      [
        "dynamodb:DescribeStream on Table",
        "dynamodb:GetRecords on Table",
        "dynamodb:GetShardIterator on Table",
        "dynamodb:ListStreams on Table",
        "events:PutEvents on EventBus",
        "sqs:GetQueueAttributes on EventsStreamDlq",
        "sqs:GetQueueUrl on EventsStreamDlq",
        "sqs:SendMessage on EventsStreamDlq",
      ].sort(),
    );
    const vars = functionEnvironment(built, "events-publisher");
    expect(Object.keys(vars)).toContain("EVENT_BUS_NAME");
    expect(vars).not.toHaveProperty("TABLE_NAME");
    expect(vars).not.toHaveProperty("SECRET_ID");
    // Every stream grant names the stream, not the table.
    for (const statement of statementsOf(built, "events-publisher")) {
      if (actionsOf(statement).some((a) => a.startsWith("dynamodb:")))
        expect(JSON.stringify(statement.Resource)).toMatch(/StreamArn/);
    }
  });

  it("forwards over HTTP from its own queue: a second rule, the signing secret, exactly the grants it uses", () => {
    built.statefulTemplate.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: ["wxcoupon"] },
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^EventForwardQueue"), "Arn"] } })],
    });
    built.statefulTemplate.hasResourceProperties("AWS::SecretsManager::Secret", {
      Name: "wxcoupon/test/event-signing",
      SecretString: Match.absent(),
      GenerateSecretString: Match.absent(),
    });
    expect(dataGrants(built, "event-forwarder")).toEqual(
      [
        "secretsmanager:GetSecretValue on EventSigningSecret",
        "sqs:SendMessage on EventForwardQueue",
        "sqs:SendMessage on EventForwardDlq",
        "sqs:ReceiveMessage on EventForwardQueue",
        "sqs:DeleteMessage on EventForwardQueue",
        "sqs:GetQueueAttributes on EventForwardQueue",
      ].sort(),
    );
    const vars = functionEnvironment(built, "event-forwarder");
    expect(vars).toMatchObject({ FORWARD_URLS: "[]", FORWARD_RETRY_DELAYS_SECONDS: "10,30,60,300,600,900,900" });
    expect(vars).not.toHaveProperty("SECRET_ID");
  });

  it("keeps a queue subscription as one target: a bus rule sends every wxcoupon event to the coupon-events queue", () => {
    built.statefulTemplate.resourceCountIs("AWS::Events::EventBus", 1);
    const [[busId]] = resourcesOfType(built.statefulTemplate, "AWS::Events::EventBus") as unknown as [[string]];
    built.statefulTemplate.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: { Ref: busId },
      EventPattern: { source: ["wxcoupon"] },
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^CouponEventsQueue"), "Arn"] },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^CouponEventsDlq"), "Arn"] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ],
    });
    // The queue lets EventBridge send only for that rule.
    const policy = resourcesOfType(built.statefulTemplate, "AWS::SQS::QueuePolicy").find(([, p]) =>
      JSON.stringify(p.Properties?.Queues).includes("CouponEventsQueue"),
    )!;
    expect(JSON.stringify(policy[1].Properties?.PolicyDocument)).toMatch(
      /"aws:SourceArn":\{"Fn::GetAtt":\["CouponEventsQueueRule.*"Service":"events.amazonaws.com"/,
    );
  });
});

describe("prod environment", () => {
  it("retains data, protects the table and the stateful stack", () => {
    const built = buildTestApp({ env: "prod" });
    expect(built.stateful.terminationProtection).toBe(true);
    for (const type of ["AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret"]) {
      for (const [id, r] of resourcesOfType(built.statefulTemplate, type)) expect(r.DeletionPolicy, id).toBe("Retain");
    }
    built.statefulTemplate.hasResourceProperties("AWS::DynamoDB::Table", { DeletionProtectionEnabled: true });
    built.serviceTemplate.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 180 });
  });
});

describe("modes and options", () => {
  it("JWT mode uses a JWT authorizer on caller routes, the webhook stays public, no IAM caller policy", () => {
    const built = buildTestApp({ auth: "jwt", jwtIssuer: "https://issuer.example.com/", jwtAudience: "wxcoupon" });
    built.serviceTemplate.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      JwtConfiguration: { Issuer: "https://issuer.example.com/", Audience: ["wxcoupon"] },
      IdentitySource: ["$request.header.Authorization"],
    });
    for (const [, r] of resourcesOfType(built.serviceTemplate, "AWS::ApiGatewayV2::Route")) {
      const expected = r.Properties?.RouteKey === "POST /notify/wechatpay" ? "NONE" : "JWT";
      expect(r.Properties?.AuthorizationType, String(r.Properties?.RouteKey)).toBe(expected);
    }
    // Each caller route requires the scopes of its access level: admin routes wxcoupon/admin only.
    const routes = resourcesOfType<{ RouteKey: string; AuthorizationScopes?: string[] }>(
      built.serviceTemplate,
      "AWS::ApiGatewayV2::Route",
    );
    for (const route of ROUTES) {
      const [, r] = routes.find(([, x]) => x.Properties?.RouteKey === `${route.method} ${route.path}`)!;
      const scopes = r.Properties?.AuthorizationScopes;
      if (route.auth === "public") expect(scopes, route.path).toBeUndefined();
      else expect(scopes, `${route.method} ${route.path}`).toEqual([...scopesOf(route)]);
    }
    const callbacks = routes.find(([, x]) => x.Properties?.RouteKey === "POST /callbacks")![1];
    expect(callbacks.Properties?.AuthorizationScopes).toEqual(["wxcoupon/admin"]);
    built.serviceTemplate.resourceCountIs("AWS::IAM::ManagedPolicy", 0);
  });

  it("platform-certificate mode adds cert-refresh on a 12-hour schedule with cache-only table access", () => {
    const built = buildTestApp({ wechatpayMode: "platform_certificate" });
    const certRefresh = logicalIdOf(built, "cert-refresh");
    built.serviceTemplate.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(12 hours)",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [certRefresh, "Arn"] } })],
    });
    expect(dataActions(statementsOf(built, "cert-refresh"), "dynamodb:")).toEqual([
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    expect(dataActions(statementsOf(built, "cert-refresh"), "sqs:")).toEqual([]);
    // Every function verifies with the cached certificates here: notify and send-api list them through gsi1 too.
    expect(dataActions(statementsOf(built, "notify"), "dynamodb:")).toContain("dynamodb:Query");
    expect(dataActions(statementsOf(built, "send-api"), "dynamodb:")).toContain("dynamodb:Query");
    for (const kind of ["api", "send-api", "send-worker", "notify", "cert-refresh"] as const) {
      expect(functionEnvironment(built, kind).WECHATPAY_MODE, kind).toBe("platform_certificate");
    }
    const vars = built.serviceTemplate.toJSON().Resources[certRefresh].Properties.Environment.Variables;
    const own = Object.fromEntries(
      Object.entries(vars as Record<string, unknown>)
        .filter(([n]) => !(n in PLATFORM_ENV))
        .map(([n, v]) => [n, resolveForSchema(n, v)]),
    );
    expect(ENV_SCHEMAS["cert-refresh"].strict().safeParse(own).success).toBe(true);
    built.serviceTemplate.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "wxcoupon-test-CertRefreshErrors",
    });
  });

  it("an imported secret is granted by its ARN (and its CMK), and no secret is created", () => {
    const arn = "arn:aws:secretsmanager:ap-east-1:111111111111:secret:wxcoupon/merchant-AbCdEf";
    const key = "arn:aws:kms:ap-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const built = buildTestApp({ secretArn: arn, secretKmsKeyArn: key });
    // Only the event forwarder's signing secret.
    built.statefulTemplate.resourceCountIs("AWS::SecretsManager::Secret", 1);
    const statements = statementsOf(built, "api");
    const secretStatement = statements.find((s) => actionsOf(s).includes("secretsmanager:GetSecretValue"))!;
    expect(secretStatement.Resource).toBe(arn);
    const kms = statements.find((s) => actionsOf(s).includes("kms:Decrypt"))!;
    expect(kms.Resource).toBe(key);
    expect(kms.Condition).toEqual({ StringEquals: { "kms:ViaService": "secretsmanager.ap-east-1.amazonaws.com" } });
    const vars = built.serviceTemplate.toJSON().Resources[logicalIdOf(built, "api")].Properties.Environment.Variables;
    expect(vars.SECRET_ID).toBe(arn);
  });

  it("attaches the caller policy to allowedCallers and serves a custom domain only", () => {
    const built = buildTestApp({
      allowedCallers: "arn:aws:iam::111111111111:role/coupon-issuer,arn:aws:iam::111111111111:user/ops",
      domainName: "coupons.example.com",
      certificateArn: "arn:aws:acm:ap-east-1:111111111111:certificate/0d5c1e4f-1234-4abc-9def-1234567890ab",
    });
    built.serviceTemplate.hasResourceProperties("AWS::IAM::ManagedPolicy", {
      Roles: ["coupon-issuer"],
      Users: ["ops"],
    });
    const admin = buildTestApp({ adminCallers: "arn:aws:iam::111111111111:role/coupon-operator" });
    const attached = resourcesOfType(admin.serviceTemplate, "AWS::IAM::ManagedPolicy").filter(([, p]) =>
      JSON.stringify(p.Properties?.Roles ?? []).includes("coupon-operator"),
    );
    expect(attached.map(([id]) => id.replace(/[A-F0-9]{8}$/, ""))).toEqual(["AdminPolicy"]);
    built.serviceTemplate.hasResourceProperties("AWS::ApiGatewayV2::DomainName", {
      DomainName: "coupons.example.com",
    });
    built.serviceTemplate.hasResourceProperties("AWS::ApiGatewayV2::Api", { DisableExecuteApiEndpoint: true });
    built.serviceTemplate.hasOutput("WechatNotifyUrl", { Value: "https://coupons.example.com/notify/wechatpay" });
  });

  it("derives the worker concurrency cap from the send rate, clamped to 2..1000", () => {
    expect(workerMaxConcurrency(400)).toBe(10);
    expect(workerMaxConcurrency(500)).toBe(13);
    expect(workerMaxConcurrency(1)).toBe(2);
    expect(workerMaxConcurrency(100_000)).toBe(1000);
    const built = buildTestApp({ sendRatePerSecond: "120" });
    built.serviceTemplate.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      ScalingConfig: { MaximumConcurrency: 3 },
    });
  });
});

describe("WxFunction", () => {
  it("refuses a variable its kind's schema does not declare, and resource names outside bind*", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "S", { env: { account: "111111111111", region: "ap-east-1" } });
    const fn = new WxFunction(stack, "Notify", {
      kind: "notify",
      logRetention: RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(() => fn.setEnv("DEFAULT_SEND_RATE_PER_SECOND", "10")).toThrow(/not in the notify env schema/);
    expect(() => fn.setEnv("EVENTS_QUEUE_URL", "https://sqs.ap-east-1.amazonaws.com/1/q")).toThrow(/bindQueue/);
    expect(() => fn.setEnv("TABLE_NAME", "t")).toThrow(/bindTable/);
    expect(() => fn.setEnv("WECHATPAY_TIMEOUT_MS", "3000")).not.toThrow();
  });
});
