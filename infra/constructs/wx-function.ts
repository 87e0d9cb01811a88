import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Duration, Names, type RemovalPolicy, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IEventBus } from "aws-cdk-lib/aws-events";
import { type IRole, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Runtime, StartingPosition, Tracing } from "aws-cdk-lib/aws-lambda";
import { SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IBucket } from "aws-cdk-lib/aws-s3";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { z } from "zod";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import {
  apiEnvSchema,
  certRefreshEnvSchema,
  eventForwarderEnvSchema,
  eventsPublisherEnvSchema,
  exportEnvSchema,
  notifyEnvSchema,
  reconcileEnvSchema,
  sendApiEnvSchema,
  sendWorkerEnvSchema,
  sweeperEnvSchema,
} from "#shared/config/env.js";

/** The Lambdas; each has `functions/<kind>.ts` exporting `handler` and an env schema in shared/config/env.ts. */
export type FunctionKind =
  | "api"
  | "send-api"
  | "send-worker"
  | "notify"
  | "cert-refresh"
  | "reconcile"
  | "sweeper"
  | "events-publisher"
  | "event-forwarder"
  | "export";
export const FUNCTION_KINDS: readonly FunctionKind[] = [
  "api",
  "send-api",
  "send-worker",
  "notify",
  "cert-refresh",
  "reconcile",
  "sweeper",
  "events-publisher",
  "event-forwarder",
  "export",
];

export const ENV_SCHEMAS: Record<FunctionKind, z.ZodObject> = {
  api: apiEnvSchema,
  "send-api": sendApiEnvSchema,
  "send-worker": sendWorkerEnvSchema,
  notify: notifyEnvSchema,
  "cert-refresh": certRefreshEnvSchema,
  export: exportEnvSchema,
  reconcile: reconcileEnvSchema,
  sweeper: sweeperEnvSchema,
  "events-publisher": eventsPublisherEnvSchema,
  "event-forwarder": eventForwarderEnvSchema,
};

/**
 * Variables the platform needs besides the function's own schema: Powertools reads the service name (the default
 * metric dimension `service`) and the metrics namespace from these; NODE_OPTIONS turns source maps on.
 */
export const METRICS_NAMESPACE = "wxcoupon";
export const PLATFORM_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: "--enable-source-maps",
  POWERTOOLS_SERVICE_NAME: "wxcoupon",
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

export const RUNTIME = Runtime.NODEJS_24_X;
/** esbuild target matching RUNTIME; keep the two in step. */
export const ESBUILD_TARGET = "node24";

/**
 * The links of the SDK's default credential chain (`@aws-sdk/credential-provider-node`) after the environment one,
 * each loaded there by a dynamic `import()` only when every link before it failed. In Lambda the first link always
 * answers (the runtime sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the function's role:
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), so these are
 * left out of the bundles (with the STS/SSO/sign-in clients only they use: 131 KB of the api's): the bundle keeps a
 * dynamic `import()` of each, never a static one (test/infra/bundled-synth.test.ts). docs/aws-notes.md#bundling-and-runtime.
 */
export const LAMBDA_UNREACHED_CREDENTIAL_PROVIDERS = [
  "@aws-sdk/credential-provider-sso",
  "@aws-sdk/credential-provider-ini",
  "@aws-sdk/credential-provider-process",
  "@aws-sdk/credential-provider-web-identity",
  "@aws-sdk/credential-provider-http",
  "@smithy/credential-provider-imds",
];

/**
 * Bundling fixed once (docs/aws-notes.md#bundling-and-runtime): ESM, minified, source maps without sources, the AWS SDK
 * bundled (the runtime's copy is not the version we test, and a bundled barebones client loads faster), `module` before
 * `main` so ESM builds are picked, and a real `require` for the CJS dependencies that call it (X-Ray, some SDK
 * internals). test/bench/bundle-sizes.ts builds with these same options.
 */
export const WX_BUNDLING = {
  format: OutputFormat.ESM,
  target: ESBUILD_TARGET,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ["module", "main"],
  banner:
    "import { createRequire as __wxCreateRequire } from 'node:module';const require = __wxCreateRequire(import.meta.url);",
  bundleAwsSDK: true,
  externalModules: LAMBDA_UNREACHED_CREDENTIAL_PROVIDERS,
  // esbuild's per-asset size listing is noise in synth and test output; warnings and errors still show.
  logLevel: LogLevel.WARNING,
} as const satisfies BundlingOptions;

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const entryFor = (kind: FunctionKind): string => `${REPO_ROOT}functions/${kind}.ts`;

/** DynamoDB actions the adapters use; `bindTable` grants exactly the ones listed, on the table and its named GSIs. */
export type TableAction =
  | "GetItem"
  | "BatchGetItem"
  | "Query"
  | "PutItem"
  | "BatchWriteItem"
  | "UpdateItem"
  | "DeleteItem";
/** What the DynamoDB adapters in shared/adapters/dynamodb call (no deletes: records expire through TTL). */
export const TABLE_READ_WRITE: readonly TableAction[] = ["GetItem", "Query", "PutItem", "UpdateItem"];
/**
 * Actions granted on the GSIs only, never on the table: every QueryCommand in shared/adapters/dynamodb names
 * `IndexName` (gsi1, or gsi2 for a stock's coupons), so Query on the base table is a permission nothing uses.
 */
const INDEX_ONLY_ACTIONS: ReadonlySet<TableAction> = new Set(["Query"]);

/**
 * SQS actions a function's own adapters call on a queue, by IAM name. SendMessageBatch (all the adapters send with,
 * shared/adapters/sqs/batch-send.ts) is authorized by `sqs:SendMessage`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
 */
export type QueueAction = "SendMessage" | "ChangeMessageVisibility";

/**
 * What Lambda's SQS event source mapping calls with the function's role
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).
 */
const EVENT_SOURCE_MAPPING_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];

export interface QueueMappingOptions {
  batchSize: number;
  maxBatchingWindow: Duration;
  maxConcurrency: number;
}

/** Variables that name a resource: only the bind* helpers set them, together with the grant. */
const isResourceVariable = (name: string): boolean =>
  name === "TABLE_NAME" ||
  /SECRET_ID$/.test(name) ||
  name === "EVENT_BUS_NAME" ||
  /_(QUEUE|DLQ)_URL$/.test(name) ||
  /_BUCKET_NAME$/.test(name);

/**
 * S3 actions on objects, by IAM name. `PutObject` also authorizes CreateMultipartUpload, UploadPart and
 * CompleteMultipartUpload; `GetObject` is what a presigned GET is authorized as, with the signer's permissions
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
 * docs/aws-notes.md#s3-presigned-urls).
 */
export type BucketAction = "PutObject" | "GetObject";

/**
 * What Lambda's DynamoDB stream event source mapping calls with the function's role, on the stream's ARN, as DynamoDB's
 * own example grants them
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-example-lamda-process-dynamodb-streams.html).
 */
const STREAM_MAPPING_ACTIONS = [
  "dynamodb:DescribeStream",
  "dynamodb:GetRecords",
  "dynamodb:GetShardIterator",
  "dynamodb:ListStreams",
];

export interface StreamMappingOptions {
  batchSize: number;
  maxBatchingWindow: Duration;
  /** -1: until the record leaves the stream. */
  retryAttempts: number;
  /** Records older than this go to the on-failure destination untried. */
  maxRecordAge: Duration;
  /** Event patterns on the stream record; only matching records invoke the function. */
  filters: readonly Record<string, unknown>[];
  /** Where a batch that could not be processed is reported (its shard and sequence numbers). */
  onFailure: IQueue;
  /** The function answers `batchItemFailures` (the first record it could not process). */
  reportBatchItemFailures: boolean;
}

export interface WxFunctionProps {
  kind: FunctionKind;
  /** @default 256 MB: the work is I/O-bound (WeChat, DynamoDB); INIT gets full vCPUs regardless of memory. */
  memorySize?: number;
  /** @default 15 s */
  timeout?: Duration;
  /** @default none (the account's unreserved pool) */
  reservedConcurrency?: number;
  logRetention: RetentionDays;
  /** For the log group; functions themselves hold no data. */
  removalPolicy: RemovalPolicy;
  description?: string;
  /** Plain settings from the function's env schema (rates, timeouts); names are checked against the schema. */
  environment?: Record<string, string>;
}

/**
 * One Lambda of the service with the house defaults: nodejs24.x on arm64, ESM bundle built by the local esbuild,
 * X-Ray active, its own log group with retention and its own role whose only log permission is that log group
 * (no AWSLambdaBasicExecutionRole managed policy).
 *
 * The `bind*` helpers grant least privilege *and* set the environment variable in one call, so a function can never
 * hold a name without the permission to use it, or a permission without the name. Variable names are checked against
 * the kind's schema in shared/config/env.ts.
 */
export class WxFunction extends NodejsFunction {
  readonly kind: FunctionKind;
  /** The function's log group (created with retention; `logGroup` is the base class's ILogGroup view of it). */
  readonly logs: LogGroup;
  private readonly schemaKeys: ReadonlySet<string>;

  constructor(scope: Construct, id: string, props: WxFunctionProps) {
    const entry = entryFor(props.kind);
    if (!existsSync(entry)) {
      throw new Error(`WxFunction ${id}: entry ${entry} does not exist (functions/${props.kind}.ts exporting handler)`);
    }
    // Created in the parent scope because `this` does not exist before super().
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `wxcoupon ${props.kind} function`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry,
      handler: "handler",
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(15),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      description: props.description ?? `wxcoupon ${props.kind}`,
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      bundling: {
        ...WX_BUNDLING,
        mainFields: [...WX_BUNDLING.mainFields],
        externalModules: [...WX_BUNDLING.externalModules],
      },
      environment: { ...PLATFORM_ENV },
    });
    this.kind = props.kind;
    this.logs = logGroup;
    this.schemaKeys = new Set(Object.keys(ENV_SCHEMAS[props.kind].shape));
    for (const [name, value] of Object.entries(props.environment ?? {})) this.setEnv(name, value);
  }

  /** The execution role (always ours, never imported). */
  get executionRole(): IRole {
    return this.role!;
  }

  /**
   * Sets a plain setting of this kind's schema (rates, timeouts). Any other name is a wiring mistake and throws at
   * synth; names of resources (table, queues, secret) are refused here because only `bind*` may set them.
   */
  setEnv(name: string, value: string): this {
    if (isResourceVariable(name)) {
      throw new Error(
        `WxFunction ${this.node.id}: ${name} names a resource; set it with bindTable/bindQueue/bindSecret`,
      );
    }
    return this.putEnv(name, value);
  }

  private putEnv(name: string, value: string): this {
    if (!this.schemaKeys.has(name)) {
      throw new Error(
        `WxFunction ${this.node.id}: ${name} is not in the ${this.kind} env schema (shared/config/env.ts)`,
      );
    }
    this.addEnvironment(name, value);
    return this;
  }

  /**
   * TABLE_NAME + exactly `actions`: item actions on the table, Query on each GSI of `indexes` (index ARNs by name, no
   * `index/*` wildcard). `indexes`: the GSIs the function queries, default gsi1 (every querying adapter's but one;
   * gsi2, a stock's coupons, only the reconciliation's expiry phase reads).
   */
  bindTable(
    table: ITable,
    actions: readonly TableAction[],
    indexes: readonly string[] = [TABLE_SPEC.globalSecondaryIndexes[0].indexName],
  ): this {
    if (actions.length === 0) throw new Error("bindTable: no actions");
    const tableActions = actions.filter((a) => !INDEX_ONLY_ACTIONS.has(a));
    if (tableActions.length > 0) {
      this.addToRolePolicy(
        new PolicyStatement({ actions: tableActions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
      );
    }
    const indexActions = actions.filter((a) => INDEX_ONLY_ACTIONS.has(a));
    if (indexActions.length > 0) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: indexActions.map((a) => `dynamodb:${a}`),
          resources: indexes.map((name) => {
            if (!TABLE_SPEC.globalSecondaryIndexes.some((gsi) => gsi.indexName === name)) {
              throw new Error(`bindTable: the table has no index ${name}`);
            }
            return `${table.tableArn}/index/${name}`;
          }),
        }),
      );
    }
    return this.putEnv("TABLE_NAME", table.tableName);
  }

  /**
   * `envName` (the queue URL) + exactly `actions` on the queue: the calls this function's own adapters make. The
   * queues are SSE-SQS (no KMS key policy to grant through); a KMS-encrypted queue would need kms grants here too.
   */
  bindQueue(queue: IQueue, actions: readonly QueueAction[], envName: string): this {
    if (actions.length === 0) throw new Error("bindQueue: no actions");
    if (queue.encryptionMasterKey) throw new Error(`bindQueue: ${envName} is KMS-encrypted; grant kms here first`);
    if (!isResourceVariable(envName)) throw new Error(`bindQueue: ${envName} should end in _QUEUE_URL or _DLQ_URL`);
    this.addToRolePolicy(new PolicyStatement({ actions: actions.map((a) => `sqs:${a}`), resources: [queue.queueArn] }));
    return this.putEnv(envName, queue.queueUrl);
  }

  /**
   * An SQS event source mapping with partial batch responses, and exactly the actions the mapping itself calls with
   * this role (not `SqsEventSource`, whose `grantConsumeMessages` adds GetQueueUrl and ChangeMessageVisibility that
   * the mapping never calls). The construct id is the one SqsEventSource used, so the mapping's logical id, and the
   * deployed mapping, stay the same.
   */
  consumeQueue(queue: IQueue, options: QueueMappingOptions): this {
    if (queue.encryptionMasterKey) throw new Error("consumeQueue: the queue is KMS-encrypted; grant kms:Decrypt first");
    this.addToRolePolicy(new PolicyStatement({ actions: EVENT_SOURCE_MAPPING_ACTIONS, resources: [queue.queueArn] }));
    this.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`, {
      eventSourceArn: queue.queueArn,
      batchSize: options.batchSize,
      maxBatchingWindow: options.maxBatchingWindow,
      reportBatchItemFailures: true,
      maxConcurrency: options.maxConcurrency,
    });
    return this;
  }

  /**
   * `envName` (the bucket's name) + exactly `actions` on the objects under `prefix`. The bucket is SSE-S3 (no KMS key
   * to grant through); a KMS-encrypted bucket would need kms grants here too.
   */
  bindBucket(bucket: IBucket, actions: readonly BucketAction[], prefix: string, envName: string): this {
    if (actions.length === 0) throw new Error("bindBucket: no actions");
    if (bucket.encryptionKey) throw new Error(`bindBucket: ${envName} is KMS-encrypted; grant kms here first`);
    if (!/_BUCKET_NAME$/.test(envName)) throw new Error(`bindBucket: ${envName} should end in _BUCKET_NAME`);
    this.addToRolePolicy(
      new PolicyStatement({ actions: actions.map((a) => `s3:${a}`), resources: [bucket.arnForObjects(`${prefix}*`)] }),
    );
    return this.putEnv(envName, bucket.bucketName);
  }

  /**
   * A DynamoDB stream event source mapping on `table`'s stream with filters, split-on-error and an on-failure queue,
   * and exactly the stream actions the mapping calls with this role, on the stream only (not `DynamoEventSource`,
   * whose `grantStreamRead` grants `dynamodb:ListStreams` on "*").
   */
  consumeTableStream(table: ITable, options: StreamMappingOptions): this {
    if (!table.tableStreamArn) throw new Error("consumeTableStream: the table has no stream");
    this.addToRolePolicy(new PolicyStatement({ actions: STREAM_MAPPING_ACTIONS, resources: [table.tableStreamArn] }));
    this.addEventSourceMapping("TableStream", {
      eventSourceArn: table.tableStreamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: options.batchSize,
      maxBatchingWindow: options.maxBatchingWindow,
      retryAttempts: options.retryAttempts,
      maxRecordAge: options.maxRecordAge,
      reportBatchItemFailures: options.reportBatchItemFailures,
      bisectBatchOnError: true,
      filters: options.filters.map((pattern) => ({ pattern: JSON.stringify(pattern) })),
      onFailure: new SqsDlq(options.onFailure),
    });
    return this;
  }

  /** EVENT_BUS_NAME + events:PutEvents on that bus, the only call the bus adapter makes. */
  bindEventBus(bus: IEventBus): this {
    this.addToRolePolicy(new PolicyStatement({ actions: ["events:PutEvents"], resources: [bus.eventBusArn] }));
    return this.putEnv("EVENT_BUS_NAME", bus.eventBusName);
  }

  /**
   * SECRET_ID (the ARN) + GetSecretValue on that secret, the only call the secret source makes
   * (shared/adapters/secrets/secrets-manager-merchant-secret-source.ts), and kms:Decrypt if it has a CMK.
   */
  bindSecret(secret: ISecret, envName = "SECRET_ID"): this {
    this.addToRolePolicy(
      new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] }),
    );
    // Only through Secrets Manager: the key decrypts this secret for us and nothing else.
    if (secret.encryptionKey) {
      this.addToRolePolicy(
        new PolicyStatement({
          actions: ["kms:Decrypt"],
          resources: [secret.encryptionKey.keyArn],
          conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
        }),
      );
    }
    return this.putEnv(envName, secret.secretArn);
  }
}
