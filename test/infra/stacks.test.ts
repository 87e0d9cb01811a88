import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { beforeAll, describe, expect, it } from "vitest";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import { ROUTES } from "#shared/edges/http/routes.js";
import { ENV_SCHEMAS, type FunctionKind, PLATFORM_ENV, WxFunction } from "../../infra/constructs/wx-function.js";
import { METRIC } from "../../infra/metrics.js";
import { VISIBILITY_FACTOR, workerMaxConcurrency } from "../../infra/settings.js";
import { MERCHANT_SECRET_FIELDS } from "../../infra/stacks/stateful-stack.js";
import { buildTestApp, resourcesOfType, type TestApp } from "./test-app.js";

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

function logicalIdOf(built: TestApp, kind: FunctionKind): string {
  const fn = built.service.functions[kind];
  if (!fn) throw new Error(`no ${kind} function`);
  return built.service.getLogicalId(fn.node.defaultChild as CfnFunction);
}

/** Statements of the policies attached to the role of `kind` (inline default policy). */
function statementsOf(built: TestApp, kind: FunctionKind): Statement[] {
  const fn = built.service.functions[kind]!;
  const roleId = built.service.getLogicalId(fn.executionRole.node.defaultChild as never);
  return resourcesOfType(built.serviceTemplate, "AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(roleId))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

function dataActions(statements: Statement[], prefix: string): string[] {
  return [...new Set(statements.flatMap(actionsOf).filter((a) => a.startsWith(prefix)))].sort();
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

  it("grants execute-api:Invoke on exactly the caller routes", () => {
    const policies = resourcesOfType(built.serviceTemplate, "AWS::IAM::ManagedPolicy");
    expect(policies).toHaveLength(1);
    const [statement] = (policies[0]![1].Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
    expect(statement!.Action).toBe("execute-api:Invoke");
    const resources = (statement!.Resource as unknown[]).map((r) => JSON.stringify(r));
    const callerRoutes = ROUTES.filter((r) => r.auth === "caller");
    expect(resources).toHaveLength(callerRoutes.length);
    expect(resources.some((r) => r.includes("notify"))).toBe(false);
    expect(resources.some((r) => r.includes('/$default/POST/stocks/*/start"'))).toBe(true);
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
    expect(props.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 400, ThrottlingBurstLimit: 400 });
  });

  it("maps the send queue with partial batch responses and a concurrency cap from the rate", () => {
    built.serviceTemplate.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
    built.serviceTemplate.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(built, "send-worker") },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 10 },
      BatchSize: Match.anyValue(),
    });
    const [mapping] = resourcesOfType<{ BatchSize: number; MaximumBatchingWindowInSeconds: number }>(
      built.serviceTemplate,
      "AWS::Lambda::EventSourceMapping",
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

  it("runs every function on nodejs24.x, arm64, with X-Ray and its own log group", () => {
    const functions = resourcesOfType(built.serviceTemplate, "AWS::Lambda::Function");
    expect(functions).toHaveLength(3);
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
    for (const kind of ["api", "send-worker", "notify"] as const) {
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
    expect(workerVars).toMatchObject({ SEND_RATE_PER_SECOND: "400" });
    expect(workerVars).not.toHaveProperty("WORKER_MAX_CONCURRENCY");
  });

  it("scopes every data action to the table, its named index, the queues and the secret (no '*')", () => {
    const policies = [
      ...resourcesOfType(built.serviceTemplate, "AWS::IAM::Policy"),
      ...resourcesOfType(built.serviceTemplate, "AWS::IAM::ManagedPolicy"),
    ];
    expect(policies.length).toBeGreaterThan(0);
    for (const [id, policy] of policies) {
      for (const statement of (policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement) {
        const data = actionsOf(statement).filter((a) => /^(dynamodb|sqs|secretsmanager|kms):/.test(a));
        if (data.length === 0) continue;
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const resource of resources) {
          expect(JSON.stringify(resource), `${id} ${data.join(",")}`).not.toContain("*");
        }
        const text = JSON.stringify(resources);
        for (const action of data) {
          const expected = action.startsWith("dynamodb:")
            ? /Table/
            : action.startsWith("secretsmanager:")
              ? /MerchantSecret/
              : /Queue|Dlq/;
          expect(text, `${id} ${action}`).toMatch(expected);
        }
      }
    }
  });

  it("gives each function only the actions its adapters use", () => {
    expect(dataActions(statementsOf(built, "api"), "dynamodb:")).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    expect(dataActions(statementsOf(built, "api"), "sqs:")).toEqual([
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:SendMessage",
    ]);
    expect(dataActions(statementsOf(built, "send-worker"), "sqs:")).toEqual([
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]);
    const workerSends = statementsOf(built, "send-worker").filter((s) => actionsOf(s).includes("sqs:SendMessage"));
    expect(JSON.stringify(workerSends.map((s) => s.Resource))).toMatch(/SendDlq/);
    // The DLQ (poison messages) and its own queue (a waiting send re-enqueued on its last receive).
    expect(JSON.stringify(workerSends.map((s) => s.Resource))).toMatch(/SendQueue/);
    expect(dataActions(statementsOf(built, "notify"), "dynamodb:")).toEqual([
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    const notifySqs = statementsOf(built, "notify").filter((s) => actionsOf(s).some((a) => a.startsWith("sqs:")));
    expect(JSON.stringify(notifySqs.map((s) => s.Resource))).toContain("CouponEventsQueue");
    expect(dataActions(statementsOf(built, "notify"), "sqs:")).not.toContain("sqs:ReceiveMessage");
    for (const kind of ["api", "send-worker", "notify"] as const) {
      expect(dataActions(statementsOf(built, kind), "secretsmanager:"), kind).toEqual([
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
      ]);
      // Query on the GSI goes to the index by name, never index/*.
      const indexResources = JSON.stringify(statementsOf(built, kind).map((s) => s.Resource));
      expect(indexResources).toContain(`/index/${TABLE_SPEC.globalSecondaryIndexes[0].indexName}`);
    }
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
          "SendQueueOldMessage",
          "SendQueueStalled",
          "CouponEventsOldMessage",
          "ApiErrors",
          "ApiThrottles",
          "SendWorkerErrors",
          "SendWorkerThrottles",
          "NotifyErrors",
          "NotifyThrottles",
          "NotifyFailures",
          "Api5xx",
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
    built.serviceTemplate.resourceCountIs("AWS::Events::Rule", 0);
    expect(built.service.functions["cert-refresh"]).toBeUndefined();
  });
});

describe("stateful stack", () => {
  let built: TestApp;
  beforeAll(() => {
    built = buildTestApp();
  });

  it("derives the table from table-definition.ts: on-demand, PITR, TTL, the GSIs", () => {
    const gsi = TABLE_SPEC.globalSecondaryIndexes[0];
    built.statefulTemplate.resourceCountIs("AWS::DynamoDB::Table", 1);
    built.statefulTemplate.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: TABLE_SPEC.partitionKey.name, KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE_SPEC.timeToLiveAttribute, Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: gsi.indexName,
          KeySchema: [
            { AttributeName: gsi.partitionKey.name, KeyType: "HASH" },
            { AttributeName: gsi.sortKey.name, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: gsi.projection },
        },
      ],
    });
  });

  it("dead-letters both queues after ≥ 5 receives into 14-day DLQs, all SSE and TLS-only", () => {
    const queues = resourcesOfType(built.statefulTemplate, "AWS::SQS::Queue");
    expect(queues).toHaveLength(4);
    const sources = queues.filter(([, q]) => q.Properties?.RedrivePolicy);
    expect(sources.map(([id]) => id.replace(/[A-F0-9]{8}$/, "")).sort()).toEqual(["CouponEventsQueue", "SendQueue"]);
    for (const [id, q] of sources) {
      const redrive = q.Properties!.RedrivePolicy as { maxReceiveCount: number; deadLetterTargetArn: unknown };
      expect(redrive.maxReceiveCount, id).toBeGreaterThanOrEqual(5);
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
    expect(policies).toHaveLength(4);
    for (const [, p] of policies) {
      expect(JSON.stringify(p.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("creates the merchant secret with the documented JSON shape, only mchid filled", () => {
    const [entry] = resourcesOfType<{ SecretString: string; Name: string }>(
      built.statefulTemplate,
      "AWS::SecretsManager::Secret",
    );
    const secret = entry![1];
    const value = JSON.parse(secret.Properties!.SecretString);
    expect(Object.keys(value)).toEqual([...MERCHANT_SECRET_FIELDS]);
    expect(value).toMatchObject({ mchid: "1900000001", merchant_private_key: "", apiv3_key: "" });
    expect(secret.Properties!.Name).toBe("wxcoupon/test/merchant");
  });

  it("outside prod: everything is destroyed with the stack", () => {
    expect(built.stateful.terminationProtection).toBe(false);
    const table = resourcesOfType(built.statefulTemplate, "AWS::DynamoDB::Table")[0]![1];
    expect(table.DeletionPolicy).toBe("Delete");
    expect(table.Properties?.DeletionProtectionEnabled).toBe(false);
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
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    expect(dataActions(statementsOf(built, "cert-refresh"), "sqs:")).toEqual([]);
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
    built.statefulTemplate.resourceCountIs("AWS::SecretsManager::Secret", 0);
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
