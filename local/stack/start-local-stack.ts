import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import { formatMerchantSecret } from "#shared/adapters/secrets/merchant-secret-json.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { JWT_SCOPES, ROUTES, scopesOf } from "#shared/edges/http/routes.js";
import type { FunctionKind } from "../../infra/constructs/wx-function.js";
import { startSimulator } from "../simulator/index.js";
import type { RunningSimulator, SimulatorOptions } from "../simulator/types.js";
import { type EmulatorOptions, type Emulators, startEmulators } from "./emulators.js";
import { type LocalEventBus, type LocalRule, startLocalEventBus } from "./events/local-event-bus.js";
import { type StreamMapping, startStreamMapping } from "./events/stream-mapping.js";
import { type FunctionHost, startFunctionHost } from "./function-host/function-host.js";
import { invokeForHttp } from "./function-host/invoke-adapters.js";
import { startHttpGateway } from "./http-gateway.js";
import { type IamProxy, type LocalIdentity, startIamProxy } from "./iam/iam-proxy.js";
import type { ServiceName } from "./iam/requests.js";
import { type ScheduleRunner, startScheduleRunner } from "./schedule-runner.js";
import { type RunningSqsMapping, type SqsMappingConfig, startSqsMapping } from "./sqs-mapping.js";
import { resolveString } from "./template/intrinsics.js";
import {
  type LocalResources,
  localResolver,
  type ResolvedFunction,
  resolveFunction,
} from "./template/local-resources.js";
import { loadServiceModel, type ServiceModel, type TableSpec } from "./template/read-template.js";

export interface LocalStackOptions {
  /** Keys, table and simulator state (git-ignored). */
  dataDir: string;
  /** Wipe the data folder first. */
  fresh?: boolean;
  /** 0 = a free port. */
  apiPort?: number;
  simulatorPort?: number;
  simulator?: Omit<SimulatorOptions, "port" | "stateDir">;
  /**
   * Test override of the send mapping's maximum concurrency (batches in flight). Default: the template's
   * `ScalingConfig.MaximumConcurrency`.
   */
  workerConcurrency?: number;
  /**
   * The `sendRatePerSecond` deployment setting (infra/config.ts), passed to synthesis as CDK context: the template
   * then carries it into the functions' env and the mapping's concurrency, as a deployment would. Default: the app's.
   */
  sendRatePerSecond?: number;
  /**
   * The `eventForwardUrls` deployment setting (infra/config.ts): consumers the event forwarder POSTs signed events to,
   * passed to synthesis as CDK context. Default: none.
   */
  eventForwardUrls?: string[];
  /** Test override of the forwarder's FORWARD_RETRY_DELAYS_SECONDS (the template's take minutes). */
  forwardRetryDelaysSeconds?: number[];
  /** Test override of the functions' WECHATPAY_TIMEOUT_MS (the template sets it from infra/settings.ts). */
  wechatTimeoutMs?: number;
  /**
   * Test override of schedules' rates, per target function (seconds between invocations; the reconcile and sweeper
   * schedules' are 60 in the template, cert-refresh's 12 h). A function not named keeps its `rate(…)` from the template.
   */
  scheduleIntervalSeconds?: Partial<Record<FunctionKind, number>>;
  /** Test override of the reconcile function's RECONCILE_POLL_SECONDS (how often it asks WeChat about a stock). */
  reconcilePollSeconds?: number;
  /** Test override of the sweeper's SWEEPER_STALL_SECONDS (the template sets it from infra/settings.ts). */
  sweeperStallSeconds?: number;
  /** Test override of the send queue's visibility timeout (seconds). Default: the template's. */
  sendVisibilityTimeoutSeconds?: number;
  /**
   * Local cap on execution environments per HTTP function (a machine cannot host Lambda's 1,000); invocations past
   * it wait for a free environment. Default 4.
   */
  maxEnvironmentsPerFunction?: number;
  /**
   * Test override: edits the model read from the template before anything starts, e.g. drops one statement from a
   * role to prove the call it allowed is then denied. Default: the template as synthesized.
   */
  templateOverride?: (model: ServiceModel) => ServiceModel;
  log?: (line: string) => void;
  /**
   * Reliability tests: receives the DynamoDB endpoint the handlers would use (the IAM proxy in front of the stand-in)
   * and returns the one they should use (e.g. a fault-injecting proxy in front of it). Default: unchanged.
   */
  dynamodbEndpointWrapper?: (endpoint: string) => Promise<string>;
  /**
   * Benchmarks: a simulator already running elsewhere (e.g. a child process, so its CPU is not this process's).
   * `simulatorPort` and `simulator` are then ignored; `stop()` calls its `stop()`. Default: start one here.
   */
  externalSimulator?: RunningSimulator;
  /**
   * Benchmarks: starts the AWS stand-ins elsewhere (e.g. in a child process, so their CPU is not this process's)
   * from the options this stack derives from the template, as `startEmulators` would here; `stop()` calls the
   * result's `stop()`. Default: `startEmulators` in this process.
   */
  startEmulators?: (options: EmulatorOptions) => Promise<Emulators>;
}

export interface LocalStack {
  apiUrl: string;
  simulatorUrl: string;
  /** Every route (all scopes): an operator's token, as a JWT with wxcoupon/admin and wxcoupon/send would be. */
  token: string;
  /** Send and read routes only (wxcoupon/send + wxcoupon/read): what an application that issues coupons gets. */
  sendToken: string;
  /** The event forwarder's HMAC signing secret (kept in the data folder, seeded into the fake Secrets Manager). */
  eventSigningSecret: string;
  mchid: string;
  appid: string;
  simulator: RunningSimulator;
  emulators: Emulators;
  /** What the stack runs: the model read from the synthesized template. */
  model: ServiceModel;
  /** The HTTP functions' hosts (execution environments, cold starts). */
  functions: Partial<Record<FunctionKind, FunctionHost>>;
  /** The template's schedules, each invoking its function on its rate (the sweeper, the reconciliation job, cert-refresh). */
  schedules: Partial<Record<FunctionKind, ScheduleRunner>>;
  /**
   * The outbox and the bus (docs/events.md): the table's change records through the events publisher's stream
   * mapping to the local EventBridge bus and its rules' targets. `stream` is absent when the stand-ins report no
   * change records (`Emulators.onTableChange`).
   */
  events: { bus: LocalEventBus; stream?: StreamMapping; publisher: FunctionHost };
  /**
   * Environment for `local/stack/worker-process.ts`: the send worker's mapping as this stack runs it (template limits,
   * IAM through this stack's proxies). Spawn with `{ ...process.env, ...sendWorkerProcessEnv() }`.
   */
  sendWorkerProcessEnv(): Record<string, string>;
  /** A function's whole environment as its host runs it (its own access key included: IAM applies). */
  functionEnvironment(kind: FunctionKind): Record<string, string>;
  /** The export function's host (its invocations, as the export queue's mapping makes them). */
  exportHost: FunctionHost;
  /** Stops the export queue's mapping (tests that invoke the export function by hand). */
  stopExports(): Promise<void>;
  /** Stops and restarts the send worker alone (reliability tests). */
  restartWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** The forwarder's signing secret, by name, in the fake Secrets Manager. */
const LOCAL_SIGNING_SECRET = "wxcoupon/event-signing";

/** The functions the local stack runs, as the stack names them (the session name in AccessDenied messages). */
const functionName = (kind: FunctionKind) => `wxcoupon-${kind}`;
/** Each function signs its AWS calls with its own access key, which is how the IAM proxies know who calls. */
const accessKeyId = (kind: FunctionKind) => `LOCAL${kind.replace(/[^a-z]/g, "").toUpperCase()}KEY`;
const ENTRIES: Partial<Record<FunctionKind, string>> = {
  api: new URL("../../functions/api.ts", import.meta.url).href,
  "send-api": new URL("../../functions/send-api.ts", import.meta.url).href,
  notify: new URL("../../functions/notify.ts", import.meta.url).href,
  "send-worker": new URL("../../functions/send-worker.ts", import.meta.url).href,
  // Platform-certificate mode only, on its 12-hour schedule.
  "cert-refresh": new URL("../../functions/cert-refresh.ts", import.meta.url).href,
  export: new URL("../../functions/export.ts", import.meta.url).href,
  reconcile: new URL("../../functions/reconcile.ts", import.meta.url).href,
  sweeper: new URL("../../functions/sweeper.ts", import.meta.url).href,
  "events-publisher": new URL("../../functions/events-publisher.ts", import.meta.url).href,
  "event-forwarder": new URL("../../functions/event-forwarder.ts", import.meta.url).href,
};

/**
 * The whole system on one machine, configured by the synthesized CloudFormation template (local/stack/template/):
 * the WeChat Pay simulator; DynamoDB/SQS/Secrets Manager stand-ins, each behind an IAM proxy that holds every call to
 * the calling function's role policy; each function in its own execution environments with its template environment,
 * Timeout, MemorySize and reserved concurrency (local/stack/function-host/); the routes behind a local API Gateway;
 * the send worker and the export function behind pollers with their event source mappings' settings; the export
 * bucket (fauxqs's S3) behind its own IAM proxy. The simulator's notify URL points at the
 * local webhook. README "AWS behaviour → local stack" lists what is not reproduced.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  if (options.fresh) rmSync(options.dataDir, { recursive: true, force: true });
  mkdirSync(options.dataDir, { recursive: true });
  const token = localToken(options.dataDir, "token");
  const eventSigningSecret = localToken(options.dataDir, "event-signing-secret");
  const sendToken = localToken(options.dataDir, "send-token");
  const simulator =
    options.externalSimulator ??
    (await startSimulator({
      port: options.simulatorPort ?? 0,
      stateDir: join(options.dataDir, "simulator"),
      mode: "public_key",
      log,
      ...options.simulator,
    }));
  const config = simulator.config;
  // Deployed in the simulator's mode (infra/config.ts wechatpayMode): platform-certificate mode adds cert-refresh and
  // the certificate-cache grants, so the template the stack runs matches the WeChat it talks to.
  const synthesized = loadServiceModel({
    wechatpayMode: config.mode,
    ...(options.sendRatePerSecond === undefined ? {} : { sendRatePerSecond: options.sendRatePerSecond }),
    ...(options.eventForwardUrls === undefined ? {} : { eventForwardUrls: options.eventForwardUrls }),
  });
  const model = options.templateOverride ? options.templateOverride(structuredClone(synthesized)) : synthesized;
  assertTableMatches(model.table);
  const secret = formatMerchantSecret({
    mchid: config.mchid,
    merchantSerialNo: config.merchant_serial_no,
    merchantPrivateKeyPem: config.keys.merchantPrivateKeyPem,
    apiv3Key: config.apiv3_key,
    ...(config.mode === "public_key"
      ? {
          wechatpayPublicKeyId: config.wechatpay_public_key_id,
          wechatpayPublicKeyPem: config.keys.wechatpayPublicKeyPem,
        }
      : {}),
    appid: config.appid,
  });
  const emulators = await (options.startEmulators ?? startEmulators)({
    dataDir: join(options.dataDir, "aws"),
    region: model.synthesized.region,
    secrets: {
      "wxcoupon/merchant": secret,
      [LOCAL_SIGNING_SECRET]: JSON.stringify({ signing_secret: eventSigningSecret }),
    },
    sendVisibilityTimeoutSeconds: options.sendVisibilityTimeoutSeconds ?? model.queues.send.visibilityTimeoutSeconds,
    eventsVisibilityTimeoutSeconds: model.queues.events.visibilityTimeoutSeconds,
    ...(model.queues.send.redrive ? { sendMaxReceiveCount: model.queues.send.redrive.maxReceiveCount } : {}),
    ...(model.queues.events.redrive ? { eventsMaxReceiveCount: model.queues.events.redrive.maxReceiveCount } : {}),
    exportsVisibilityTimeoutSeconds: model.queues.exports.visibilityTimeoutSeconds,
    ...(model.queues.exports.redrive ? { exportsMaxReceiveCount: model.queues.exports.redrive.maxReceiveCount } : {}),
    // The template's bucket, by its name, with its lifecycle expiration (local/stack/export-bucket.ts).
    exportBucket: {
      name: model.exportBucket.name,
      ...(model.exportBucket.expirationDays === undefined ? {} : { expirationDays: model.exportBucket.expirationDays }),
    },
    forwardVisibilityTimeoutSeconds: model.queues.forward.visibilityTimeoutSeconds,
    ...(model.queues.forward.redrive ? { forwardMaxReceiveCount: model.queues.forward.redrive.maxReceiveCount } : {}),
  });
  const region = emulators.env.AWS_REGION;
  const account = model.synthesized.account;

  // The template's resources → the local ones, and each function's env and policies resolved against them.
  const local: LocalResources = {
    tableName: emulators.env.TABLE_NAME,
    queues: {
      send: emulators.queues.send,
      sendDlq: emulators.queues.sendDlq,
      events: emulators.queues.events,
      eventsDlq: emulators.queues.eventsDlq,
      exports: emulators.queues.exports,
      exportsDlq: emulators.queues.exportsDlq,
      streamFailureDlq: emulators.queues.streamFailureDlq,
      forward: emulators.queues.forward,
      forwardDlq: emulators.queues.forwardDlq,
    },
    exportBucketName: model.exportBucket.name,
    signingSecretArn: `arn:aws:secretsmanager:${region}:000000000000:secret:${LOCAL_SIGNING_SECRET}`,
    // The fake Secrets Manager's ARN form (local/stack/fake-secrets-manager.ts).
    secretArn: `arn:aws:secretsmanager:${region}:000000000000:secret:${emulators.env.SECRET_ID}`,
    eventBus: {
      name: model.eventBus.name,
      arn: `arn:aws:events:${region}:${account}:event-bus/${model.eventBus.name}`,
    },
  };
  const resolver = localResolver(model, local);
  const kinds = (Object.keys(ENTRIES) as FunctionKind[]).filter((kind) => model.functions[kind] !== undefined);
  const resolved = new Map<FunctionKind, ResolvedFunction>(
    kinds.map((kind) => [kind, resolveFunction(model, kind, resolver)]),
  );

  const identities = new Map<string, LocalIdentity>();
  for (const [kind, fn] of resolved) {
    identities.set(accessKeyId(kind), {
      principal: { account, roleName: fn.roleName, functionName: functionName(kind) },
      statements: fn.statements,
    });
  }
  const arns = {
    region,
    account,
    secretArn: (id: string) =>
      id.startsWith("arn:") ? id : `arn:aws:secretsmanager:${region}:000000000000:secret:${id}`,
  };
  const proxies: IamProxy[] = [];
  const proxy = async (service: ServiceName, target: string) => {
    const started = await startIamProxy({
      service,
      target,
      arns,
      identities,
      onDenied: (d) => log(`iam: AccessDenied ${d.functionName} ${d.action} on ${d.resource}`),
    });
    proxies.push(started);
    return started.endpoint;
  };
  // The bus delivers to the queues as EventBridge does: as the service, not as a function (queue policies, which
  // name the rule, are resource policies the local stack does not evaluate: README).
  const bus = await startLocalEventBus({
    name: local.eventBus.name,
    arn: local.eventBus.arn,
    account,
    region,
    rules: localRules(model, resolver, local),
    sqs: emulators.sqs,
    log,
  });
  const endpoints = {
    dynamodb: await proxy("dynamodb", emulators.endpoints.dynamodb),
    sqs: await proxy("sqs", emulators.endpoints.sqs),
    secretsManager: await proxy("secretsmanager", emulators.endpoints.secretsManager),
    s3: await proxy("s3", emulators.endpoints.s3),
    eventbridge: await proxy("events", bus.endpoint),
  };
  const handlerDynamodbEndpoint = options.dynamodbEndpointWrapper
    ? await options.dynamodbEndpointWrapper(endpoints.dynamodb)
    : endpoints.dynamodb;

  /**
   * A function's whole environment: the template's variables, then what Lambda itself sets (region, the role's
   * credentials), then the only local additions: the stand-ins' endpoints, WeChat's base URL (the simulator) and the
   * documented test overrides. Nothing of this process's environment leaks in but the Powertools log switches.
   */
  const environmentOf = (kind: FunctionKind): Record<string, string> => ({
    ...resolved.get(kind)!.environment,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: accessKeyId(kind),
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: handlerDynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    WECHATPAY_BASE_URL: simulator.url,
    WECHATPAY_BACKUP_BASE_URL: simulator.url,
    ...(options.wechatTimeoutMs === undefined || kind === "sweeper"
      ? {}
      : { WECHATPAY_TIMEOUT_MS: String(options.wechatTimeoutMs) }),
    ...(options.reconcilePollSeconds === undefined || kind !== "reconcile"
      ? {}
      : { RECONCILE_POLL_SECONDS: String(options.reconcilePollSeconds) }),
    ...(options.sweeperStallSeconds === undefined || kind !== "sweeper"
      ? {}
      : { SWEEPER_STALL_SECONDS: String(options.sweeperStallSeconds) }),
    ...(kind === "event-forwarder" && options.forwardRetryDelaysSeconds !== undefined
      ? { FORWARD_RETRY_DELAYS_SECONDS: options.forwardRetryDelaysSeconds.join(",") }
      : {}),
    // The simulator's mode decides which keys verify WeChat (shared/adapters/wechatpay/merchant-runtime.ts).
    WECHATPAY_MODE: config.mode,
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
    // The template's runtime is nodejs24.x; the SDK's warning is about this machine's Node, not the function's.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(process.env.POWERTOOLS_LOG_LEVEL ? { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL } : {}),
  });
  const hostOptions = (kind: FunctionKind) => {
    const spec = model.functions[kind]!;
    return {
      functionName: functionName(kind),
      entry: ENTRIES[kind]!,
      env: environmentOf(kind),
      timeoutSeconds: spec.timeoutSeconds,
      memorySize: spec.memorySize,
      ...(spec.reservedConcurrency === undefined ? {} : { reservedConcurrency: spec.reservedConcurrency }),
    };
  };

  const functions: Partial<Record<FunctionKind, FunctionHost>> = {};
  for (const kind of new Set(model.routes.map((r) => r.functionKind))) {
    functions[kind] = startFunctionHost({
      ...hostOptions(kind),
      maxEnvironments: options.maxEnvironmentsPerFunction ?? 4,
      log,
    });
  }
  const gateway = await startHttpGateway({
    routes: model.routes.map((route) => ({
      method: route.method,
      path: route.path,
      handler: invokeForHttp(functions[route.functionKind]!),
      // AWS_IAM and JWT both stand for "an authorized caller": locally one bearer token (README).
      auth: route.authorizationType === "NONE" ? "none" : "bearer",
      // The route table's scopes, as the JWT authorizer checks them (shared/edges/http/routes.ts).
      scopes: scopesOf(routeDefinition(route.method, route.path)),
      ...(route.throttle ? { throttle: route.throttle } : {}),
      functionName: functionName(route.functionKind),
      // API Gateway's own integration timeout; the function's Timeout (shorter) is enforced by its host.
      timeoutMs: 30_000,
    })),
    bearerToken: token,
    scopedTokens: [{ token: sendToken, scopes: [JWT_SCOPES.send, JWT_SCOPES.read] }],
    port: options.apiPort ?? 0,
    log,
  });

  const queueMapping = (kind: FunctionKind, concurrencyOverride?: number): SqsMappingConfig => {
    const mapping = model.eventSourceMappings.find((m) => m.functionKind === kind);
    if (!mapping) throw new Error(`the template has no event source mapping for the ${kind} function`);
    const arn = resolveString(mapping.eventSourceArn, model.synthesized.serviceStackName, resolver);
    const queue = Object.values(local.queues).find((q) => q.arn === arn);
    if (!queue) throw new Error(`the ${kind} function's mapping reads ${arn}, which is no local queue`);
    return {
      host: hostOptions(kind),
      queueUrl: queue.url,
      region,
      sqsEndpoint: endpoints.sqs,
      accessKeyId: accessKeyId(kind),
      batchSize: mapping.batchSize,
      maximumBatchingWindowSeconds: mapping.maximumBatchingWindowSeconds,
      // Without ScalingConfig Lambda scales to 1,000 batches; locally that is capped at 10 (README).
      maxConcurrency: concurrencyOverride ?? mapping.maximumConcurrency ?? 10,
      reportBatchItemFailures: mapping.functionResponseTypes.includes("ReportBatchItemFailures"),
    };
  };
  const schedules: Partial<Record<FunctionKind, ScheduleRunner>> = {};
  for (const schedule of model.schedules.filter((s) => s.enabled)) {
    schedules[schedule.functionKind] = startScheduleRunner({
      ruleName: schedule.logicalId,
      source: schedule.source,
      // EventBridge invokes asynchronously: overlapping runs each get an environment, as in Lambda.
      host: startFunctionHost({ ...hostOptions(schedule.functionKind), maxEnvironments: 2, log }),
      intervalMs: (options.scheduleIntervalSeconds?.[schedule.functionKind] ?? schedule.rateSeconds) * 1000,
      region,
      account,
      log,
    });
  }
  const workerConfig = queueMapping("send-worker", options.workerConcurrency);
  let worker: RunningSqsMapping | undefined = startSqsMapping(workerConfig, log);
  const exporter = startSqsMapping(queueMapping("export"), log);
  let exporterStopped: Promise<void> | undefined;

  // The outbox: the table's changes → the events publisher's stream mapping (filters, retries, on-failure queue
  // from the template) → the bus.
  const publisherMapping = model.eventSourceMappings.find((m) => m.functionKind === "events-publisher");
  if (!publisherMapping?.stream) throw new Error("the template has no stream mapping for the events publisher");
  const publisher = startFunctionHost({ ...hostOptions("events-publisher"), maxEnvironments: 1, log });
  const serviceStack = model.synthesized.serviceStackName;
  const onFailureArn =
    publisherMapping.stream.onFailureDestination === undefined
      ? undefined
      : resolveString(publisherMapping.stream.onFailureDestination, serviceStack, resolver);
  const onFailureQueue = Object.values(local.queues).find((q) => q.arn === onFailureArn);
  if (onFailureArn !== undefined && !onFailureQueue)
    throw new Error(`the stream's on-failure ${onFailureArn} is no local queue`);
  // Lambda sends the on-failure record with the function's role.
  const publisherSqs = createSqsClient({
    endpoint: endpoints.sqs,
    region,
    credentials: { accessKeyId: accessKeyId("events-publisher"), secretAccessKey: "local" },
  });
  const stream = emulators.onTableChange
    ? startStreamMapping({
        host: publisher,
        functionArn: `arn:aws:lambda:${region}:${account}:function:${functionName("events-publisher")}`,
        streamArn: resolveString(publisherMapping.eventSourceArn, serviceStack, resolver),
        region,
        keyNames: [model.table.partitionKey.name, ...(model.table.sortKey ? [model.table.sortKey.name] : [])],
        filters: publisherMapping.filters,
        batchSize: publisherMapping.batchSize,
        maximumBatchingWindowSeconds: publisherMapping.maximumBatchingWindowSeconds,
        maximumRetryAttempts: publisherMapping.stream.maximumRetryAttempts,
        maximumRecordAgeInSeconds: publisherMapping.stream.maximumRecordAgeInSeconds,
        bisectBatchOnFunctionError: publisherMapping.stream.bisectBatchOnFunctionError,
        reportBatchItemFailures: publisherMapping.functionResponseTypes.includes("ReportBatchItemFailures"),
        ...(onFailureQueue ? { onFailure: { queueUrl: onFailureQueue.url, sqs: publisherSqs } } : {}),
        log,
      })
    : undefined;
  // Signed HTTP forwarding: the forwarder on its queue, fed by its rule on the bus.
  const forwarder = startSqsMapping(queueMapping("event-forwarder"), log);
  const unsubscribe = stream ? emulators.onTableChange!((change) => stream.push(change)) : () => {};
  await pointWechatAtWebhook(gateway.url, token, config.mchid);

  const stack: LocalStack = {
    apiUrl: gateway.url,
    simulatorUrl: simulator.url,
    token,
    sendToken,
    eventSigningSecret,
    mchid: config.mchid,
    appid: config.appid,
    simulator,
    emulators,
    model,
    functions,
    schedules,
    events: { bus, publisher, ...(stream ? { stream } : {}) },
    sendWorkerProcessEnv: () => ({ WXCOUPON_SQS_MAPPING: JSON.stringify(workerConfig) }),
    functionEnvironment: environmentOf,
    async stopWorker() {
      await worker?.stop();
      worker = undefined;
    },
    async restartWorker() {
      await stack.stopWorker();
      worker = startSqsMapping(workerConfig, log);
    },
    exportHost: exporter.host,
    async stopExports() {
      exporterStopped ??= exporter.stop();
      await exporterStopped;
    },
    async stop() {
      for (const schedule of Object.values(schedules)) await schedule.stop();
      await stack.stopWorker();
      await stack.stopExports();
      await gateway.close();
      unsubscribe();
      await stream?.stop();
      await publisher.stop();
      await forwarder.stop();
      publisherSqs.destroy();
      await bus.stop();
      for (const host of Object.values(functions)) await host.stop();
      for (const p of proxies) await p.close();
      await emulators.stop();
      await simulator.stop();
    },
  };
  writeFileSync(
    join(options.dataDir, "stack.json"),
    `${JSON.stringify(
      {
        api_url: stack.apiUrl,
        simulator_url: stack.simulatorUrl,
        token,
        send_token: sendToken,
        stock_creator_mchid: stack.mchid,
        appid: stack.appid,
        simulator_config: config.config_path,
        // `wxcoupon events tail` subscribes a temporary queue to the local bus (docs/events.md#tailing-events).
        events: {
          region,
          event_bus_name: local.eventBus.name,
          eventbridge_endpoint: bus.endpoint,
          sqs_endpoint: emulators.endpoints.sqs,
        },
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  return stack;
}

/**
 * The stand-ins create the table from shared/adapters/dynamodb/table-definition.ts, which the stateful stack also
 * builds from; this holds the template to it, so a key, index or TTL attribute changed in the CDK code alone stops
 * the local stack instead of being silently ignored.
 */
function assertTableMatches(table: TableSpec): void {
  const expected = {
    partitionKey: TABLE_SPEC.partitionKey,
    indexes: TABLE_SPEC.globalSecondaryIndexes.map((g) => [g.indexName, g.partitionKey, g.sortKey, g.projection]),
    ttl: TABLE_SPEC.timeToLiveAttribute,
  };
  const actual = {
    partitionKey: table.partitionKey,
    indexes: table.globalSecondaryIndexes.map((g) => [g.indexName, g.partitionKey, g.sortKey, g.projection]),
    ttl: table.timeToLiveAttribute,
  };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `the template's table ${JSON.stringify(actual)} differs from table-definition.ts ${JSON.stringify(expected)}`,
    );
  }
}

/** The template's rules on the service's bus, their targets resolved to the local queues. */
function localRules(
  model: ServiceModel,
  resolver: ReturnType<typeof localResolver>,
  local: LocalResources,
): LocalRule[] {
  const stack = model.synthesized.statefulStackName;
  const queueOf = (arn: string) => {
    const queue = Object.values(local.queues).find((q) => q.arn === arn);
    if (!queue) throw new Error(`a rule on the bus targets ${arn}, which is no local queue`);
    return queue;
  };
  return model.eventBus.rules.map((rule) => ({
    name: rule.logicalId,
    arn: resolver.physical(stack, rule.logicalId).attributes.Arn as string,
    pattern: rule.pattern,
    targets: rule.targets.map((target) => {
      const arn = resolveString(target.arn, stack, resolver);
      const dlq = target.deadLetterArn === undefined ? undefined : resolveString(target.deadLetterArn, stack, resolver);
      return {
        id: target.id,
        arn,
        queueUrl: queueOf(arn).url,
        ...(dlq === undefined ? {} : { deadLetterQueueUrl: queueOf(dlq).url }),
        maximumRetryAttempts: target.maximumRetryAttempts,
      };
    }),
  }));
}

/** A bearer token of this data folder (`name`: its file): made once, kept across restarts. */
function localToken(dataDir: string, name: string): string {
  const file = join(dataDir, name);
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    const token = `wxl_${randomBytes(24).toString("base64url")}`;
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

/** Sets the simulator's COUPON.USE callback to the local webhook, through the service's own API. */
async function pointWechatAtWebhook(apiUrl: string, token: string, mchid: string): Promise<void> {
  const response = await fetch(`${apiUrl}/callbacks`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ mchid, notify_url: `${apiUrl}/notify/wechatpay`, switch: true }),
  });
  if (!response.ok)
    throw new Error(`could not set the simulator's notify URL: ${response.status} ${await response.text()}`);
}

/** The route table's entry of a template route. */
function routeDefinition(method: string, path: string) {
  const route = ROUTES.find((r) => r.method === method && r.path === path);
  if (!route) throw new Error(`the template has a route the route table does not: ${method} ${path}`);
  return route;
}
