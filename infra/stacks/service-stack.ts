import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  type CfnApi,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type HttpRoute,
  type HttpRouteIntegration,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer, HttpJwtAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { ManagedPolicy, PolicyStatement, Role, User } from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { ROUTES, type RouteDefinition, type RouteTarget } from "#shared/edges/http/routes.js";
import type { WxConfig } from "../config.js";
import { Monitoring } from "../constructs/monitoring.js";
import { type FunctionKind, TABLE_READ_WRITE, WxFunction, type WxFunctionProps } from "../constructs/wx-function.js";
import { type Acknowledgement, acknowledgement } from "../nag.js";
import {
  FUNCTION_SIZING,
  SEND_BATCH_SIZE,
  SEND_BATCHING_WINDOW,
  SEND_MAX_RECEIVE_COUNT,
  VISIBILITY_FACTOR,
  WECHATPAY_TIMEOUT,
  workerMaxConcurrency,
} from "../settings.js";

export interface ServiceStackProps extends StackProps {
  config: WxConfig;
  table: ITable;
  sendQueue: IQueue;
  sendDlq: IQueue;
  /** The send queue's visibility timeout as created (IQueue does not expose it). */
  sendQueueVisibility: Duration;
  eventsQueue: IQueue;
  eventsDlq: IQueue;
  secret: ISecret;
}

/** Execute-api resource path for a route: each `{param}` matches one path segment at request time. */
export function executeApiPath(path: string): string {
  return path.replace(/\{[^}/]+\}/g, "*");
}

/** Construct id of the route for ROUTES entry `route` (stable: logical ids derive from it). */
export function routeId(route: RouteDefinition): string {
  return `${route.method}${route.path}`;
}

/**
 * Code and edges: the HTTP API (routes from shared/edges/http/routes.ts), the four functions, the send-queue mapping, the
 * certificate schedule, alarms and the campaigns dashboard. Stateless: can be destroyed and redeployed freely.
 */
export class ServiceStack extends Stack {
  readonly functions: Partial<Record<FunctionKind, WxFunction>> = {};
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly routes: Map<string, HttpRoute> = new Map();
  readonly callerPolicy?: ManagedPolicy;
  readonly acknowledgements: Acknowledgement[] = [];

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { config, table, secret } = props;
    const removalPolicy = config.isProd ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.isProd ? RetentionDays.SIX_MONTHS : RetentionDays.TWO_WEEKS;
    const wechatTimeoutMs = String(WECHATPAY_TIMEOUT.toMilliseconds());
    const maxConcurrency = workerMaxConcurrency(config.sendRatePerSecond);

    const fn = (kind: FunctionKind, id: string, environment: Record<string, string>): WxFunction => {
      const props: WxFunctionProps = { kind, ...FUNCTION_SIZING[kind], logRetention, removalPolicy, environment };
      const created = new WxFunction(this, id, props);
      this.functions[kind] = created;
      return created;
    };

    // --- functions: each bind* grants exactly what the function's adapters use and sets the matching variable.
    const api = fn("api", "ApiFunction", {
      DEFAULT_SEND_RATE_PER_SECOND: String(config.sendRatePerSecond),
      WECHATPAY_TIMEOUT_MS: wechatTimeoutMs,
    })
      .bindTable(table, TABLE_READ_WRITE)
      .bindQueue(props.sendQueue, "send", "SEND_QUEUE_URL")
      .bindSecret(secret);

    const worker = fn("send-worker", "SendWorkerFunction", {
      SEND_RATE_PER_SECOND: String(config.sendRatePerSecond),
      SEND_MAX_RECEIVE_COUNT: String(SEND_MAX_RECEIVE_COUNT),
      WECHATPAY_TIMEOUT_MS: wechatTimeoutMs,
    })
      .bindTable(table, TABLE_READ_WRITE)
      .bindQueue(props.sendQueue, "consume", "SEND_QUEUE_URL")
      // Poison messages are moved to the DLQ by the worker itself, with the reason as an attribute.
      .bindQueue(props.sendDlq, "send", "SEND_DLQ_URL")
      .bindSecret(secret);
    // A waiting send is re-enqueued on its own queue on its last receive (shared/adapters/sqs/sqs-send-queue.ts);
    // `consume` grants no SendMessage (issue 14, found by the IAM-enforcing local stack).
    props.sendQueue.grantSendMessages(worker);

    const workerTimeout = FUNCTION_SIZING["send-worker"].timeout.toSeconds();
    if (props.sendQueueVisibility.toSeconds() < VISIBILITY_FACTOR * workerTimeout) {
      throw new Error(
        `send queue visibility ${props.sendQueueVisibility.toSeconds()} s < ${VISIBILITY_FACTOR} × worker timeout ${workerTimeout} s`,
      );
    }
    worker.addEventSource(
      new SqsEventSource(props.sendQueue, {
        batchSize: SEND_BATCH_SIZE,
        maxBatchingWindow: SEND_BATCHING_WINDOW,
        reportBatchItemFailures: true,
        // Caps concurrent batches (the ESM ignores reserved concurrency, so none is set): see workerMaxConcurrency.
        maxConcurrency,
      }),
    );

    const notify = fn("notify", "NotifyFunction", { WECHATPAY_TIMEOUT_MS: wechatTimeoutMs })
      .bindTable(table, ["GetItem", "PutItem", "UpdateItem", "Query"])
      .bindQueue(props.eventsQueue, "send", "EVENTS_QUEUE_URL")
      .bindSecret(secret);

    if (config.wechatpayMode === "platform_certificate") {
      // Query: the certificate cache lists CERT# items through gsi1 (`CERTS`) to keep the ones still valid.
      const certRefresh = fn("cert-refresh", "CertRefreshFunction", { WECHATPAY_TIMEOUT_MS: wechatTimeoutMs })
        .bindTable(table, ["GetItem", "PutItem", "Query"])
        .bindSecret(secret);
      // WeChat rotates platform certificates with an overlap; twice a day keeps the cache well ahead of expiry.
      new Rule(this, "CertRefreshSchedule", {
        description: "wxcoupon: refresh WeChat Pay platform certificates",
        schedule: Schedule.rate(Duration.hours(12)),
        targets: [new LambdaFunction(certRefresh, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
      });
    }

    for (const created of Object.values(this.functions)) {
      this.acknowledgements.push(
        acknowledgement(
          created.executionRole,
          "AwsSolutions-IAM5[Resource::*]",
          "Tracing.ACTIVE adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level " +
            "permissions (X-Ray service authorization reference), so Resource '*' is the only valid form. Data actions " +
            "(dynamodb:, sqs:, secretsmanager:) are scoped to ARNs; test/infra asserts it.",
        ),
      );
    }

    // --- HTTP API
    const accessLogs = new LogGroup(this, "ApiAccessLogs", { retention: logRetention, removalPolicy });
    this.httpApi = new HttpApi(this, "HttpApi", {
      apiName: `wxcoupon-${config.envName}`,
      description: "wxcoupon: caller routes (IAM/JWT) and the WeChat Pay webhook",
      createDefaultStage: false,
      // With a custom domain, only the domain serves the API (one URL to give WeChat and callers).
      disableExecuteApiEndpoint: config.domain !== undefined,
    });
    const domainName = config.domain
      ? new DomainName(this, "Domain", {
          domainName: config.domain.name,
          certificate: Certificate.fromCertificateArn(this, "Certificate", config.domain.certificateArn),
        })
      : undefined;
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      // Below WeChat's 500 sends/s and the account's 10,000 rps: the same ceiling as bulk sends.
      throttle: { rateLimit: config.sendRatePerSecond, burstLimit: config.sendRatePerSecond },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            caller: "$context.identity.caller",
            user: "$context.identity.user",
            requestTime: "$context.requestTime",
            httpMethod: "$context.httpMethod",
            routeKey: "$context.routeKey",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            responseLatency: "$context.responseLatency",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            authorizerError: "$context.authorizer.error",
          }),
        ),
      },
      ...(domainName ? { domainMapping: { domainName } } : {}),
    });

    const callerAuthorizer: IHttpRouteAuthorizer =
      config.auth.kind === "jwt"
        ? new HttpJwtAuthorizer("CallerJwt", config.auth.issuer, { jwtAudience: config.auth.audience })
        : new HttpIamAuthorizer();
    const integrations: Record<RouteTarget, HttpRouteIntegration> = {
      api: new HttpLambdaIntegration("ApiIntegration", api),
      notify: new HttpLambdaIntegration("NotifyIntegration", notify),
    };
    for (const route of ROUTES) {
      const [created] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.target],
        authorizer: route.auth === "public" ? new HttpNoneAuthorizer() : callerAuthorizer,
      });
      this.routes.set(routeId(route), created!);
      if (route.auth === "public") {
        this.acknowledgements.push(
          acknowledgement(
            created!,
            "AwsSolutions-APIG4",
            "WeChat Pay's notification webhook cannot send AWS credentials or a JWT; the notify function authenticates " +
              "every request itself: RSA-SHA256 signature over the raw body with WeChat's key, timestamp within ±300 s, " +
              "and AES-256-GCM decryption with the APIv3 key, before any state is touched.",
          ),
        );
      }
    }

    if (config.auth.kind === "iam") {
      // HTTP APIs have no resource policy: IAM authorization is granted on the caller's side. This policy allows
      // exactly the caller routes (not the webhook) and is attached to allowedCallers; other same-account principals
      // can be given it later by ARN (stack output).
      const callerRoutes = ROUTES.filter((r) => r.auth === "caller");
      const policy = new ManagedPolicy(this, "CallerPolicy", {
        description: `wxcoupon ${config.envName}: invoke the caller routes of the HTTP API`,
        statements: [
          new PolicyStatement({
            actions: ["execute-api:Invoke"],
            resources: callerRoutes.map((r) =>
              this.httpApi.arnForExecuteApi(r.method, executeApiPath(r.path), this.stage.stageName),
            ),
          }),
        ],
      });
      config.auth.allowedCallers.forEach((arn, i) => {
        if (arn.includes(":role/")) policy.attachToRole(Role.fromRoleArn(this, `Caller${i}`, arn, { mutable: false }));
        else policy.attachToUser(User.fromUserArn(this, `Caller${i}`, arn));
      });
      this.callerPolicy = policy;
      // cdk-nag names a finding by the flattened ARN: the API's logical id stands in for its Ref.
      const apiLogicalId = this.getLogicalId(this.httpApi.node.defaultChild as CfnApi);
      for (const route of callerRoutes.filter((r) => r.path.includes("{"))) {
        this.acknowledgements.push(
          acknowledgement(
            policy,
            `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${config.region}:${config.account}:<${apiLogicalId}>/$default/${route.method}${executeApiPath(route.path)}]`,
            `Route ${route.method} ${route.path} has a path parameter; execute-api ARNs match the request path, so ` +
              "each parameter segment must be '*' (one segment, this route only).",
          ),
        );
      }
      new CfnOutput(this, "CallerPolicyArn", { value: policy.managedPolicyArn });
    }

    const baseUrl = config.domain ? `https://${config.domain.name}/` : this.stage.url;
    new CfnOutput(this, "ApiUrl", { value: baseUrl });
    const notifyRoute = ROUTES.find((r) => r.target === "notify")!;
    new CfnOutput(this, "WechatNotifyUrl", {
      value: `${baseUrl}${notifyRoute.path.slice(1)}`,
      description: "set as notify_url / callback URL in the merchant platform (POST /callbacks)",
    });
    if (domainName) {
      new CfnOutput(this, "DomainTarget", {
        value: domainName.regionalDomainName,
        description: `CNAME/alias target for ${config.domain!.name}`,
      });
    }

    new Monitoring(this, "Monitoring", {
      config,
      httpApi: this.httpApi,
      functions: this.functions,
      sendQueue: props.sendQueue,
      sendDlq: props.sendDlq,
      eventsQueue: props.eventsQueue,
      eventsDlq: props.eventsDlq,
    });
  }
}
