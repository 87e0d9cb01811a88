import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { startFauxqs } from "fauxqs";
import { ensureTable } from "#shared/adapters/dynamodb/create-table.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { SqsSendQueue } from "#shared/adapters/sqs/sqs-send-queue.js";
import { EVENTS_MAX_RECEIVE_COUNT, SEND_MAX_RECEIVE_COUNT } from "#shared/config/queue-settings.js";
import { startDynalite } from "./dynalite.js";
import { type FakeSecretsManager, startFakeSecretsManager } from "./fake-secrets-manager.js";
import { requeuePendingSends } from "./requeue-pending-sends.js";

export interface EmulatorOptions {
  /**
   * Keep the DynamoDB data (dynalite on LevelDB) in `${dataDir}/dynamodb`, so table items survive a restart.
   * Without it everything is in memory. Queues are ALWAYS in memory (fauxqs is started without its `dataDir`): on a
   * start with kept data, every PENDING send is re-enqueued (see `requeuePendingSends`).
   */
  dataDir?: string;
  /** Wipe `dataDir` first. */
  fresh?: boolean;
  region?: string;
  tableName?: string;
  /** Name of the merchant secret (env SECRET_ID). Seed it with `secrets` or later with `secretsManager.putSecret`. */
  secretId?: string;
  secrets?: Record<string, string>;
  /** Send queue visibility timeout, default 60 s (≥ 6 × a 10 s worker timeout). Tests use 1–2 s. */
  sendVisibilityTimeoutSeconds?: number;
  eventsVisibilityTimeoutSeconds?: number;
  /** Receives before a message moves to its DLQ, both queues (tests). Default: the deployed values. */
  maxReceiveCount?: number;
  /** The send queue's redrive maxReceiveCount as the template sets it (the local stack passes it). */
  sendMaxReceiveCount?: number;
  /** The coupon-events queue's redrive maxReceiveCount as the template sets it. */
  eventsMaxReceiveCount?: number;
  /** Re-enqueue PENDING sends found in a kept table (default true). */
  requeuePending?: boolean;
}

export interface QueueInfo {
  name: string;
  url: string;
  arn: string;
}

/** Environment variables the handlers read: apply them to `process.env` BEFORE importing the handler modules. */
export interface EmulatorEnv {
  AWS_REGION: string;
  AWS_DEFAULT_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_ENDPOINT_URL_DYNAMODB: string;
  AWS_ENDPOINT_URL_SQS: string;
  AWS_ENDPOINT_URL_SECRETS_MANAGER: string;
  TABLE_NAME: string;
  SEND_QUEUE_URL: string;
  SEND_DLQ_URL: string;
  SEND_MAX_RECEIVE_COUNT: string;
  EVENTS_QUEUE_URL: string;
  EVENTS_DLQ_URL: string;
  SECRET_ID: string;
  [name: string]: string;
}

export interface Emulators {
  env: EmulatorEnv;
  endpoints: { dynamodb: string; sqs: string; secretsManager: string };
  queues: { send: QueueInfo; sendDlq: QueueInfo; events: QueueInfo; eventsDlq: QueueInfo };
  secretsManager: FakeSecretsManager;
  /** Whether the table was created by this start (false: it was kept in `dataDir`). */
  tableCreated: boolean;
  /** PENDING sends re-enqueued at start. */
  requeued: number;
  /** An SQS client for the emulator (tests, poller), built with the right endpoint. */
  sqs: SQSClient;
  stop(): Promise<void>;
}

/**
 * Starts the local AWS stand-ins in this process: dynalite (DynamoDB), fauxqs (SQS) and a fake Secrets
 * Manager; creates the table from `table-definition.ts` and the queues (send + DLQ, coupon-events + DLQ).
 * Note: fauxqs always listens on 0.0.0.0 (its `host` option only shapes queue URLs); the others on 127.0.0.1.
 */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const region = options.region ?? "us-east-1";
  const tableName = options.tableName ?? "wxcoupon";
  const secretId = options.secretId ?? "wxcoupon/merchant";
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
  };

  try {
    let dynamoPath: string | undefined;
    if (options.dataDir !== undefined) {
      dynamoPath = join(options.dataDir, "dynamodb");
      if (options.fresh) rmSync(dynamoPath, { recursive: true, force: true });
      mkdirSync(dynamoPath, { recursive: true });
    }
    const dynalite = await startDynalite(dynamoPath === undefined ? {} : { path: dynamoPath });
    stops.push(dynalite.stop);

    const fauxqs = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
    stops.push(() => fauxqs.stop());
    const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;

    const secretsManager = await startFakeSecretsManager({
      region,
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    stops.push(secretsManager.stop);

    const ddb = new DynamoDBClient({ endpoint: dynalite.endpoint, region, credentials });
    stops.push(async () => ddb.destroy());
    const doc = createDocumentClient(ddb);
    const { created: tableCreated } = await ensureTable(ddb, tableName);

    const sqs = createSqsClient({ endpoint: sqsEndpoint, region, credentials });
    stops.push(async () => sqs.destroy());
    // The deployed redrive settings, unless a test asks for its own.
    const sendMaxReceiveCount = options.maxReceiveCount ?? options.sendMaxReceiveCount ?? SEND_MAX_RECEIVE_COUNT;
    const eventsMaxReceiveCount = options.maxReceiveCount ?? options.eventsMaxReceiveCount ?? EVENTS_MAX_RECEIVE_COUNT;
    const sendDlq = await createQueue(sqs, "wxcoupon-send-dlq", { MessageRetentionPeriod: "1209600" });
    const send = await createQueue(sqs, "wxcoupon-send", {
      VisibilityTimeout: String(options.sendVisibilityTimeoutSeconds ?? 60),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: sendDlq.arn, maxReceiveCount: sendMaxReceiveCount }),
    });
    const eventsDlq = await createQueue(sqs, "wxcoupon-coupon-events-dlq", { MessageRetentionPeriod: "1209600" });
    const events = await createQueue(sqs, "wxcoupon-coupon-events", {
      VisibilityTimeout: String(options.eventsVisibilityTimeoutSeconds ?? 30),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: eventsDlq.arn, maxReceiveCount: eventsMaxReceiveCount }),
    });

    let requeued = 0;
    if (!tableCreated && (options.requeuePending ?? true)) {
      requeued = await requeuePendingSends(doc, tableName, new SqsSendQueue({ client: sqs, queueUrl: send.url }));
    }

    const env: EmulatorEnv = {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.endpoint,
      TABLE_NAME: tableName,
      SEND_QUEUE_URL: send.url,
      SEND_DLQ_URL: sendDlq.url,
      SEND_MAX_RECEIVE_COUNT: String(sendMaxReceiveCount),
      EVENTS_QUEUE_URL: events.url,
      EVENTS_DLQ_URL: eventsDlq.url,
      SECRET_ID: secretId,
    };
    return {
      env,
      endpoints: { dynamodb: dynalite.endpoint, sqs: sqsEndpoint, secretsManager: secretsManager.endpoint },
      queues: { send, sendDlq, events, eventsDlq },
      secretsManager,
      tableCreated,
      requeued,
      sqs,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<QueueInfo> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const url = QueueUrl!;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
  return { name, url, arn: Attributes?.QueueArn ?? "" };
}
