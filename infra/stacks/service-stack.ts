import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  type CfnApi,
  type CfnStage,
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
import { type IEventBus, Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal, User } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Bucket } from "aws-cdk-lib/aws-s3";
import { CfnSchedule } from "aws-cdk-lib/aws-scheduler";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import { EVENT_CHANGE_FILTERS } from "#shared/adapters/dynamodb/table-stream.js";
import {
  CALLER_POLICY_ACCESS,
  ROUTES,
  type RouteDefinition,
  type RouteTarget,
  scopesOf,
} from "#shared/edges/http/routes.js";
import type { WxConfig } from "../config.js";
import { Monitoring } from "../constructs/monitoring.js";
import {
  ENV_SCHEMAS,
  type FunctionKind,
  TABLE_READ_WRITE,
  WxFunction,
  type WxFunctionProps,
} from "../constructs/wx-function.js";
import { type Acknowledgement, acknowledgement } from "../nag.js";
import {
  EVENTS_STREAM_BATCH_SIZE,
  EVENTS_STREAM_BATCHING_WINDOW,
  EVENTS_STREAM_MAX_RECORD_AGE,
  EVENTS_STREAM_RETRY_ATTEMPTS,
  EXPORT_MAX_CONCURRENCY,
  EXPORT_PREFIX,
  exportBucketName,
  FORWARD_BATCH_SIZE,
  FORWARD_MAX_CONCURRENCY,
  FORWARD_RETRY_DELAYS_SECONDS,
  FORWARD_TIMEOUT,
  FUNCTION_SIZING,
  NOTIFY_ROUTE_THROTTLE,
  RECONCILE_RATE,
  SEND_BATCH_SIZE,
  SEND_BATCHING_WINDOW,
  SEND_MAX_RECEIVE_COUNT,
  SWEEPER_RATE,
  SWEEPER_STALL,
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
  eventBus: IEventBus;
  streamFailureDlq: IQueue;
  forwardQueue: IQueue;
  forwardDlq: IQueue;
  signingSecret: ISecret;
  secret: ISecret;
  exportQueue: IQueue;
  exportDlq: IQueue;
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
 * Code and edges: the HTTP API (routes from shared/edges/http/routes.ts), the functions, the send-queue mapping, the
 * certificate schedule, alarms and the campaigns dashboard. Stateless: can be destroyed and redeployed freely.
 */
export class ServiceStack extends Stack {
  readonly functions: Partial<Record<FunctionKind, WxFunction>> = {};
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly routes: Map<string, HttpRoute> = new Map();
  /** IAM auth: execute-api:Invoke on the send and read routes (applications). */
  readonly callerPolicy?: ManagedPolicy;
  /** IAM auth: execute-api:Invoke on the admin and read routes (operators). */
  readonly adminPolicy?: ManagedPolicy;
  readonly acknowledgements: Acknowledgement[] = [];

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { config, table, secret } = props;
    const removalPolicy = config.isProd ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.isProd ? RetentionDays.SIX_MONTHS : RetentionDays.TWO_WEEKS;
    const wechatTimeoutMs = String(WECHATPAY_TIMEOUT.toMilliseconds());
    const maxConcurrency = workerMaxConcurrency(config.sendRatePerSecond);
    // By its fixed name (infra/settings.ts exportBucketName): the stateful stack creates it.
    const exportBucket = Bucket.fromBucketName(this, "ExportBucket", exportBucketName(config));

    const fn = (kind: FunctionKind, id: string, own: Record<string, string>): WxFunction => {
      // WECHATPAY_MODE: only platform-certificate mode may download certificates (shared/adapters/wechatpay/merchant-runtime.ts).
      // The functions that never talk to WeChat (the sweeper, the export function) have no such variable.
      const talksToWechat = "WECHATPAY_MODE" in ENV_SCHEMAS[kind].shape;
      const environment = { ...(talksToWechat ? { WECHATPAY_MODE: config.wechatpayMode } : {}), ...own };
      const props: WxFunctionProps = { kind, ...FUNCTION_SIZING[kind], logRetention, removalPolicy, environment };
      const created = new WxFunction(this, id, props);
      this.functions[kind] = created;
      return created;
    };

    // --- functions: each bind* grants exactly what the function's adapters use and sets the matching variable.
    const certificateMode = config.wechatpayMode === "platform_certificate";
    const api = fn("api", "ApiFunction", {
      DEFAULT_SEND_RATE_PER_SECOND: String(config.sendRatePerSecond),
      WECHATPAY_TIMEOUT_MS: wechatTimeoutMs,
    })
      // BatchWriteItem: a new campaign's or chunk's recipients are written PENDING in batches before they are queued
      // (shared/domain/campaigns/campaign-recipients.ts).
      .bindTable(table, [...TABLE_READ_WRITE, "BatchWriteItem"])
      .bindQueue(props.sendQueue, ["SendMessage"], "SEND_QUEUE_URL")
      // Exports: started here (their message), downloaded through a URL this function presigns (GetObject).
      .bindQueue(props.exportQueue, ["SendMessage"], "EXPORT_QUEUE_URL")
      .bindBucket(exportBucket, ["GetObject"], EXPORT_PREFIX, "EXPORT_BUCKET_NAME")
      // POST /webhooks/test queues a test event for the HTTP consumers only.
      .bindQueue(props.forwardQueue, ["SendMessage"], "FORWARD_QUEUE_URL")
      .bindSecret(secret);

    // POST /coupons alone, in environments campaign traffic on the api never holds (shared/edges/http/routes.ts).
    // GetItem/PutItem/UpdateItem: the send's ledger record (claim, lease, outcome), the coupon's record and the rate
    // counter; Query only lists the certificate cache, which exists in platform-certificate mode only. No queue, no
    // bucket: a one-off send is answered synchronously.
    const sendApi = fn("send-api", "SendApiFunction", {
      DEFAULT_SEND_RATE_PER_SECOND: String(config.sendRatePerSecond),
      WECHATPAY_TIMEOUT_MS: wechatTimeoutMs,
    })
      .bindTable(table, ["GetItem", "PutItem", "UpdateItem", ...(certificateMode ? (["Query"] as const) : [])])
      .bindSecret(secret);

    // The export function: pages a campaign's send records (gsi1 Query) or its stock's issued coupons (gsi2 Query,
    // each page's coupons then read by BatchGetItem), its export record (GetItem, conditional UpdateItem for the
    // lease and the checkpoint), writes the CSV by multipart upload (PutObject), looks for the object when S3 answers
    // a repeated completion NoSuchUpload (HeadObject: GetObject, shared/adapters/s3/s3-export-objects.ts) and queues
    // the continuation of a long export on its own queue.
    fn("export", "ExportFunction", {})
      .bindTable(
        table,
        ["GetItem", "BatchGetItem", "Query", "UpdateItem"],
        TABLE_SPEC.globalSecondaryIndexes.map((gsi) => gsi.indexName),
      )
      .bindBucket(exportBucket, ["PutObject", "GetObject"], EXPORT_PREFIX, "EXPORT_BUCKET_NAME")
      .bindQueue(props.exportQueue, ["SendMessage"], "EXPORT_QUEUE_URL")
      .consumeQueue(props.exportQueue, {
        // One export per invocation: its time budget is the export's.
        batchSize: 1,
        maxBatchingWindow: Duration.seconds(0),
        maxConcurrency: EXPORT_MAX_CONCURRENCY,
      });

    const worker = fn("send-worker", "SendWorkerFunction", {
      SEND_RATE_PER_SECOND: String(config.sendRatePerSecond),
      SEND_MAX_RECEIVE_COUNT: String(SEND_MAX_RECEIVE_COUNT),
      WECHATPAY_TIMEOUT_MS: wechatTimeoutMs,
    })
      // PutItem: the rate governor's 429 signal (its sends were prepared before they were queued: no claim puts).
      .bindTable(table, TABLE_READ_WRITE)
      // Its own queue: a waiting send goes back as a fresh copy on its last receive (SendMessage, via
      // SqsSendQueue.requeue) and a retryable one is backed off (ChangeMessageVisibility, SqsSendQueue.delay).
      .bindQueue(props.sendQueue, ["SendMessage", "ChangeMessageVisibility"], "SEND_QUEUE_URL")
      // Poison messages are moved to the DLQ by the worker itself, with the reason as an attribute.
      .bindQueue(props.sendDlq, ["SendMessage"], "SEND_DLQ_URL")
      .bindSecret(secret);

    const workerTimeout = FUNCTION_SIZING["send-worker"].timeout.toSeconds();
    if (props.sendQueueVisibility.toSeconds() < VISIBILITY_FACTOR * workerTimeout) {
      throw new Error(
        `send queue visibility ${props.sendQueueVisibility.toSeconds()} s < ${VISIBILITY_FACTOR} × worker timeout ${workerTimeout} s`,
      );
    }
    worker.consumeQueue(props.sendQueue, {
      batchSize: SEND_BATCH_SIZE,
      maxBatchingWindow: SEND_BATCHING_WINDOW,
      // Caps concurrent batches (the ESM ignores reserved concurrency, so none is set): see workerMaxConcurrency.
      maxConcurrency,
    });

    // Campaigns finish from durable state: lost sends queued again, exact counters, COMPLETED
    // (shared/domain/campaigns/sweep-campaigns.ts). GetItem/Query read campaigns and their send records (gsi1);
    // UpdateItem stores its progress, seals, cancels never-leased sends and writes the recount; SendMessage queues
    // lost sends again. No PutItem, no secret, no WeChat.
    if (SWEEPER_STALL.toSeconds() <= props.sendQueueVisibility.toSeconds()) {
      throw new Error(`sweeper stall ${SWEEPER_STALL.toSeconds()} s <= send queue visibility`);
    }
    const sweeper = fn("sweeper", "SweeperFunction", {
      SWEEPER_STALL_SECONDS: String(SWEEPER_STALL.toSeconds()),
    })
      .bindTable(table, ["GetItem", "Query", "UpdateItem"])
      .bindQueue(props.sendQueue, ["SendMessage"], "SEND_QUEUE_URL");
    new Rule(this, "SweeperSchedule", {
      description: "wxcoupon: campaigns finish from durable state (lost sends re-queued, exact counters)",
      schedule: Schedule.rate(SWEEPER_RATE),
      // No retries: the next run, a minute later, goes on from the stored cursor.
      targets: [new LambdaFunction(sweeper, { retryAttempts: 0, maxEventAge: SWEEPER_RATE })],
    });

    const notify = fn("notify", "NotifyFunction", { WECHATPAY_TIMEOUT_MS: wechatTimeoutMs })
      // The inbox writes (conditional Put/Update, GetItem when a condition fails), and the coupon's record and its
      // campaign's use totals (conditional UpdateItem, GetItem when a condition fails: docs/coupon-lifecycle.md); Query
      // only lists the certificate cache, which exists in platform-certificate mode only.
      .bindTable(table, ["GetItem", "PutItem", "UpdateItem", ...(certificateMode ? (["Query"] as const) : [])])
      .bindSecret(secret);

    // Reconciliation with WeChat's flow files (shared/domain/reconciliation/*): GetItem/BatchGetItem read coupons and
    // runs, Query lists pending stocks, running runs and findings (gsi1; and the certificate cache in
    // platform-certificate mode) and the stock's issued coupons for the expiry phase (gsi2), PutItem creates runs and
    // findings, UpdateItem records uses, refunds, expiries, counts and checkpoints. The secret: it downloads the flows.
    const reconcile = fn("reconcile", "ReconcileFunction", { WECHATPAY_TIMEOUT_MS: wechatTimeoutMs })
      .bindTable(
        table,
        ["GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem"],
        TABLE_SPEC.globalSecondaryIndexes.map((gsi) => gsi.indexName),
      )
      .bindSecret(secret);
    // EventBridge Scheduler invokes through a role of its own. The L1 resource, because the L2 target grants
    // `lambda:InvokeFunction` on every version and alias too (`…:*`); this role may invoke the function's ARN only,
    // and only for schedules of this account (the confused-deputy condition of
    // https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html).
    const schedulerRole = new Role(this, "ReconcileSchedulerRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
      description: "wxcoupon: EventBridge Scheduler invokes the reconcile function",
    });
    schedulerRole.addToPolicy(
      new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [reconcile.functionArn] }),
    );
    new CfnSchedule(this, "ReconcileSchedule", {
      description: "wxcoupon: reconcile ended stocks with WeChat's use and refund flow files",
      scheduleExpression: `rate(${RECONCILE_RATE.toMinutes()} ${RECONCILE_RATE.toMinutes() === 1 ? "minute" : "minutes"})`,
      flexibleTimeWindow: { mode: "OFF" },
      state: "ENABLED",
      target: {
        arn: reconcile.functionArn,
        roleArn: schedulerRole.roleArn,
        // No retries: the next invocation, a minute later, resumes every run from its checkpoint.
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: RECONCILE_RATE.toSeconds() },
      },
    });

    // The outbox (docs/events.md#outbox): the table's stream, filtered to the changes that carry an event, published
    // to the bus. Nothing on a request's path publishes.
    fn("events-publisher", "EventsPublisherFunction", {}).bindEventBus(props.eventBus).consumeTableStream(table, {
      batchSize: EVENTS_STREAM_BATCH_SIZE,
      maxBatchingWindow: EVENTS_STREAM_BATCHING_WINDOW,
      retryAttempts: EVENTS_STREAM_RETRY_ATTEMPTS,
      maxRecordAge: EVENTS_STREAM_MAX_RECORD_AGE,
      filters: EVENT_CHANGE_FILTERS,
      onFailure: props.streamFailureDlq,
      reportBatchItemFailures: true,
    });

    // Signed HTTP forwarding to consumers outside AWS (docs/events.md#signed-http-forwarding).
    fn("event-forwarder", "EventForwarderFunction", {
      FORWARD_URLS: JSON.stringify(config.eventForwardUrls),
      FORWARD_RETRY_DELAYS_SECONDS: FORWARD_RETRY_DELAYS_SECONDS.join(","),
      FORWARD_TIMEOUT_MS: String(FORWARD_TIMEOUT.toMilliseconds()),
    })
      // Retries of one endpoint go back on its own queue with a delay; dead-letter records to its DLQ.
      .bindQueue(props.forwardQueue, ["SendMessage"], "FORWARD_QUEUE_URL")
      .bindQueue(props.forwardDlq, ["SendMessage"], "FORWARD_DLQ_URL")
      .bindSecret(props.signingSecret, "FORWARD_SECRET_ID")
      .consumeQueue(props.forwardQueue, {
        batchSize: FORWARD_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(1),
        maxConcurrency: FORWARD_MAX_CONCURRENCY,
      });

    if (certificateMode) {
      // Query: the certificate cache lists CERT# items through gsi1 (`CERTS`) to keep the ones still valid; PutItem
      // stores each downloaded certificate. It never reads one item (GetItem).
      const certRefresh = fn("cert-refresh", "CertRefreshFunction", { WECHATPAY_TIMEOUT_MS: wechatTimeoutMs })
        .bindTable(table, ["PutItem", "Query"])
        .bindSecret(secret);
      // WeChat rotates platform certificates with an overlap; twice a day keeps the cache well ahead of expiry.
      new Rule(this, "CertRefreshSchedule", {
        description: "wxcoupon: refresh WeChat Pay platform certificates",
        schedule: Schedule.rate(Duration.hours(12)),
        targets: [new LambdaFunction(certRefresh, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
      });
    }

    for (const kind of ["api", "export"] as const) {
      this.acknowledgements.push(
        acknowledgement(
          this.functions[kind]!.executionRole,
          `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${exportBucketName(config)}/${EXPORT_PREFIX}*]`,
          "Each export is a new object (exports/{campaign}/{export_id}.csv), so object actions are granted on the " +
            "exports/ prefix of the one export bucket: PutObject for the export function, GetObject for the api " +
            "function that presigns the download. No bucket-level action and no other prefix is granted.",
        ),
      );
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
        acknowledgement(
          created,
          "AwsSolutions-L1",
          "nodejs24.x on purpose: tests, the local stack, the CLI and CI run on the Node 24 pinned in package.json " +
            "(devDependencies.node, engines, esbuild target node24), so the functions run the major that was tested. " +
            "A newer runtime (nodejs26.x) moves all of them together (CONTRIBUTING.md, Node.js version).",
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
      // Below WeChat's 500 sends/s and the account's 10,000 rps: the same ceiling as bulk sends. The webhook has its
      // own, lower limit (route settings below).
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
      "send-api": new HttpLambdaIntegration("SendApiIntegration", sendApi),
      notify: new HttpLambdaIntegration("NotifyIntegration", notify),
    };
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const route of ROUTES) {
      const [created] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.target],
        authorizer: route.auth === "public" ? new HttpNoneAuthorizer() : callerAuthorizer,
        // JWT: the token must carry one of the route's scopes (shared/edges/http/routes.ts, ROUTE_SCOPES). IAM: the split
        // is in the two caller policies below.
        ...(config.auth.kind === "jwt" && route.auth === "caller" ? { authorizationScopes: [...scopesOf(route)] } : {}),
      });
      this.routes.set(routeId(route), created!);
      if (route.target === "notify") {
        // The public webhook's own throttle (sizing and sources: NOTIFY_ROUTE_THROTTLE in infra/settings.ts). Route
        // settings name an existing route: the stage must be created or updated after it.
        routeSettings[`${route.method} ${route.path}`] = {
          ThrottlingRateLimit: NOTIFY_ROUTE_THROTTLE.rateLimit,
          ThrottlingBurstLimit: NOTIFY_ROUTE_THROTTLE.burstLimit,
        };
        this.stage.node.addDependency(created!);
      }
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

    // HttpStage has no per-route settings; CfnStage.RouteSettings does (AWS::ApiGatewayV2::Stage RouteSettings).
    (this.stage.node.defaultChild as CfnStage).routeSettings = routeSettings;

    if (config.auth.kind === "iam") {
      // HTTP APIs have no resource policy: IAM authorization is granted on the caller's side, by two managed policies
      // split by the route table's access levels (CALLER_POLICY_ACCESS): CallerPolicy (send and read, for
      // applications; attached to allowedCallers) and AdminPolicy (admin and read, for operators; attached to
      // adminCallers). Other same-account principals can be given either later by ARN (stack outputs).
      // cdk-nag names a finding by the flattened ARN: the API's logical id stands in for its Ref.
      const apiLogicalId = this.getLogicalId(this.httpApi.node.defaultChild as CfnApi);
      const policyFor = (kind: keyof typeof CALLER_POLICY_ACCESS, id: string, attachTo: readonly string[]) => {
        const levels: readonly string[] = CALLER_POLICY_ACCESS[kind];
        const routes = ROUTES.filter((r) => r.auth === "caller" && levels.includes(r.access));
        const policy = new ManagedPolicy(this, id, {
          description: `wxcoupon ${config.envName}: invoke the ${levels.join(" and ")} routes of the HTTP API`,
          statements: [
            new PolicyStatement({
              actions: ["execute-api:Invoke"],
              resources: routes.map((r) =>
                this.httpApi.arnForExecuteApi(r.method, executeApiPath(r.path), this.stage.stageName),
              ),
            }),
          ],
        });
        attachTo.forEach((arn, i) => {
          const principalId = `${id.replace(/Policy$/, "")}${i}`;
          if (arn.includes(":role/")) {
            policy.attachToRole(Role.fromRoleArn(this, principalId, arn, { mutable: false }));
          } else policy.attachToUser(User.fromUserArn(this, principalId, arn));
        });
        for (const route of routes.filter((r) => r.path.includes("{"))) {
          this.acknowledgements.push(
            acknowledgement(
              policy,
              `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:${config.region}:${config.account}:<${apiLogicalId}>/$default/${route.method}${executeApiPath(route.path)}]`,
              `Route ${route.method} ${route.path} has a path parameter; execute-api ARNs match the request path, so ` +
                "each parameter segment must be '*' (one segment, this route only).",
            ),
          );
        }
        new CfnOutput(this, `${id}Arn`, { value: policy.managedPolicyArn });
        return policy;
      };
      // "CallerPolicy" and "Caller<i>" as before the split: the deployed policy and its attachments are kept.
      this.callerPolicy = policyFor("caller", "CallerPolicy", config.auth.allowedCallers);
      this.adminPolicy = policyFor("admin", "AdminPolicy", config.auth.adminCallers);
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
      exportDlq: props.exportDlq,
      streamFailureDlq: props.streamFailureDlq,
      forwardDlq: props.forwardDlq,
    });
  }
}
