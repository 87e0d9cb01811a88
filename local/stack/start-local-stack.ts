import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatMerchantSecret } from "#shared/adapters/secrets/merchant-secret-json.js";
import { apiEnvSchema, loadEnv, notifyEnvSchema, sendWorkerEnvSchema } from "#shared/config/env.js";
import { JWT_SCOPES, ROUTES, scopesOf } from "#shared/edges/http/routes.js";
import { buildApiFunction } from "#shared/runtime/build-api-function.js";
import { buildNotifyFunction } from "#shared/runtime/build-notify-function.js";
import { buildSendWorkerFunction } from "#shared/runtime/build-send-worker-function.js";
import { startSimulator } from "../simulator/index.js";
import type { RunningSimulator, SimulatorOptions } from "../simulator/types.js";
import { type Emulators, startEmulators } from "./emulators.js";
import { startHttpGateway } from "./http-gateway.js";
import { startSqsPoller } from "./sqs-poller.js";

export interface LocalStackOptions {
  /** Keys, table and simulator state (git-ignored). */
  dataDir: string;
  /** Wipe the data folder first. */
  fresh?: boolean;
  /** 0 = a free port. */
  apiPort?: number;
  simulatorPort?: number;
  simulator?: Omit<SimulatorOptions, "port" | "stateDir">;
  /** Send batches in flight at once (the event source mapping's maximum concurrency). */
  workerConcurrency?: number;
  sendRatePerSecond?: number;
  wechatTimeoutMs?: number;
  /** Visibility timeout of the send queue (seconds). */
  sendVisibilityTimeoutSeconds?: number;
  log?: (line: string) => void;
  /**
   * Reliability tests: receives the DynamoDB stand-in's endpoint and returns the one the handlers should use (e.g. a
   * fault-injecting proxy in front of it). The stand-ins' own setup keeps the direct endpoint. Default: unchanged.
   */
  dynamodbEndpointWrapper?: (endpoint: string) => Promise<string>;
  /**
   * Benchmarks: a simulator already running elsewhere (e.g. a child process, so its CPU is not this process's).
   * `simulatorPort` and `simulator` are then ignored; `stop()` calls its `stop()`. Default: start one here.
   */
  externalSimulator?: RunningSimulator;
  /**
   * Benchmarks: AWS stand-ins already running elsewhere, the merchant secret already seeded under `wxcoupon/merchant`.
   * `sendVisibilityTimeoutSeconds` is then ignored; `stop()` calls its `stop()`. Default: start them here.
   */
  externalEmulators?: Emulators;
}

export interface LocalStack {
  apiUrl: string;
  simulatorUrl: string;
  /** Every route (all scopes): an operator's token, as a JWT with wxcoupon/admin and wxcoupon/send would be. */
  token: string;
  /** Send and read routes only (wxcoupon/send + wxcoupon/read): what an application that issues coupons gets. */
  sendToken: string;
  mchid: string;
  appid: string;
  simulator: RunningSimulator;
  emulators: Emulators;
  /** Stops and restarts the send worker alone (reliability tests). */
  restartWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole system on one machine: the WeChat Pay simulator, in-process DynamoDB/SQS/Secrets Manager stand-ins, the
 * real handlers behind a local API Gateway, and the SQS poller driving the send worker. The simulator's notify URL
 * points at the local webhook.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  if (options.fresh) rmSync(options.dataDir, { recursive: true, force: true });
  mkdirSync(options.dataDir, { recursive: true });
  const token = localToken(options.dataDir, "token");
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
  const emulators =
    options.externalEmulators ??
    (await startEmulators({
      dataDir: join(options.dataDir, "aws"),
      secrets: { "wxcoupon/merchant": secret },
      ...(options.sendVisibilityTimeoutSeconds
        ? { sendVisibilityTimeoutSeconds: options.sendVisibilityTimeoutSeconds }
        : {}),
    }));
  const handlerDynamodbEndpoint = options.dynamodbEndpointWrapper
    ? await options.dynamodbEndpointWrapper(emulators.env.AWS_ENDPOINT_URL_DYNAMODB)
    : emulators.env.AWS_ENDPOINT_URL_DYNAMODB;
  // Handler code reads endpoints and credentials the way it does in AWS: from the environment.
  Object.assign(process.env, emulators.env, {
    AWS_ENDPOINT_URL_DYNAMODB: handlerDynamodbEndpoint,
    WECHATPAY_BASE_URL: simulator.url,
    WECHATPAY_BACKUP_BASE_URL: simulator.url,
    WECHATPAY_TIMEOUT_MS: String(options.wechatTimeoutMs ?? 5_000),
    WECHATPAY_MODE: config.mode,
    SEND_RATE_PER_SECOND: String(options.sendRatePerSecond ?? 400),
    DEFAULT_SEND_RATE_PER_SECOND: String(options.sendRatePerSecond ?? 400),
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? "true",
  });
  const api = buildApiFunction(loadEnv(apiEnvSchema));
  const notify = buildNotifyFunction(loadEnv(notifyEnvSchema));
  const worker = buildSendWorkerFunction(loadEnv(sendWorkerEnvSchema));

  const gateway = await startHttpGateway({
    routes: ROUTES.map((route) => ({
      method: route.method,
      path: route.path,
      handler: route.target === "api" ? api : notify,
      auth: route.auth === "caller" ? "bearer" : "none",
      // The route table's scopes, as the JWT authorizer checks them (shared/edges/http/routes.ts).
      scopes: scopesOf(route),
      functionName: `wxcoupon-${route.target}`,
    })),
    bearerToken: token,
    scopedTokens: [{ token: sendToken, scopes: [JWT_SCOPES.send, JWT_SCOPES.read] }],
    port: options.apiPort ?? 0,
    log,
  });
  const startWorker = () =>
    startSqsPoller({
      client: emulators.sqs,
      queueUrl: emulators.env.SEND_QUEUE_URL,
      handler: worker,
      maxConcurrency: options.workerConcurrency ?? 4,
      functionName: "wxcoupon-send-worker",
      log,
    });
  let poller: ReturnType<typeof startSqsPoller> | undefined = startWorker();
  await pointWechatAtWebhook(gateway.url, token, config.mchid);

  const stack: LocalStack = {
    apiUrl: gateway.url,
    simulatorUrl: simulator.url,
    token,
    sendToken,
    mchid: config.mchid,
    appid: config.appid,
    simulator,
    emulators,
    async stopWorker() {
      await poller?.stop();
      poller = undefined;
    },
    async restartWorker() {
      await stack.stopWorker();
      poller = startWorker();
    },
    async stop() {
      await stack.stopWorker();
      await gateway.close();
      await emulators.stop();
      await simulator.stop();
    },
  };
  writeFileSync(
    join(options.dataDir, "stack.json"),
    `${JSON.stringify({ api_url: stack.apiUrl, simulator_url: stack.simulatorUrl, token, send_token: sendToken, stock_creator_mchid: stack.mchid, appid: stack.appid, simulator_config: config.config_path }, null, 2)}\n`,
    { mode: 0o600 },
  );
  return stack;
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
