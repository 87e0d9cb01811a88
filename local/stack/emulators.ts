import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { ensureTable } from "#shared/adapters/dynamodb/create-table.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { EVENTS_MAX_RECEIVE_COUNT, SEND_MAX_RECEIVE_COUNT } from "#shared/config/queue-settings.js";
import { type QueueDefinition, type QueueInfo, startDurableSqs } from "./durable-sqs.js";
import { startDynalite } from "./dynalite.js";
import type { ItemChange } from "./events/table-changes.js";
import { startBucketExpiry } from "./export-bucket.js";
import { type FakeSecretsManager, startFakeSecretsManager } from "./fake-secrets-manager.js";

export type { QueueInfo } from "./durable-sqs.js";

export interface EmulatorOptions {
  /**
   * Keep the DynamoDB data (dynalite on LevelDB) in `${dataDir}/dynamodb` and the queues with their messages in
   * `${dataDir}/sqs` (`durable-sqs.ts`), so both survive a restart or a crash. Without it everything is in memory.
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
  /** The export queue's visibility timeout and redrive maxReceiveCount as the template sets them. */
  exportsVisibilityTimeoutSeconds?: number;
  exportsMaxReceiveCount?: number;
  /**
   * The export bucket (its name from the template), created in fauxqs's S3 on the same endpoint as SQS; with
   * `expirationDays`, objects older than that are deleted as its lifecycle rule deletes them (`export-bucket.ts`).
   */
  exportBucket?: { name: string; expirationDays?: number };
  /** The event forwarder's queue as the template sets it (visibility, redrive maxReceiveCount). */
  forwardVisibilityTimeoutSeconds?: number;
  forwardMaxReceiveCount?: number;
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
  /** `s3`: fauxqs serves S3 on its SQS endpoint (path-style requests). */
  endpoints: { dynamodb: string; sqs: string; secretsManager: string; s3: string };
  queues: {
    send: QueueInfo;
    sendDlq: QueueInfo;
    events: QueueInfo;
    eventsDlq: QueueInfo;
    streamFailureDlq: QueueInfo;
    forward: QueueInfo;
    forwardDlq: QueueInfo;
    exports: QueueInfo;
    exportsDlq: QueueInfo;
  };
  /** An S3 client for the stand-in (tests, the bench). */
  s3: S3Client;
  /** The fake Secrets Manager itself. Absent when the stand-ins run in another process (its endpoint serves them). */
  secretsManager?: FakeSecretsManager;
  /**
   * The table's change records (dynalite has no streams: local/stack/events/table-changes.ts): `listener` gets each
   * committed item change from now on; returns the unsubscribe. Absent when the stand-ins run in another process.
   */
  onTableChange?: (listener: (change: ItemChange) => void) => () => void;
  /** Whether the table was created by this start (false: it was kept in `dataDir`). */
  tableCreated: boolean;
  /** Queue messages kept in `dataDir` and put back at start (visible, delayed or still in flight). */
  restoredMessages: number;
  /** An SQS client for the emulator (tests, poller), built with the right endpoint. */
  sqs: SQSClient;
  stop(): Promise<void>;
}

/**
 * Starts the local AWS stand-ins in this process: dynalite (DynamoDB), fauxqs 1.9.2 made durable (SQS,
 * `durable-sqs.ts`; its S3, in memory, on the same endpoint) and a fake Secrets Manager, all on 127.0.0.1; creates the
 * table from `table-definition.ts`, the queues (send, coupon-events, event-forward, exports, each with a DLQ; the events
 * stream's on-failure queue) and the export bucket.
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
    let sqsPath: string | undefined;
    if (options.dataDir !== undefined) {
      dynamoPath = join(options.dataDir, "dynamodb");
      sqsPath = join(options.dataDir, "sqs");
      for (const path of [dynamoPath, sqsPath]) {
        if (options.fresh) rmSync(path, { recursive: true, force: true });
        mkdirSync(path, { recursive: true });
      }
    }
    const changeListeners = new Set<(change: ItemChange) => void>();
    const dynalite = await startDynalite({
      ...(dynamoPath === undefined ? {} : { path: dynamoPath }),
      onChange: (change) => {
        for (const listener of changeListeners) listener(change);
      },
    });
    stops.push(dynalite.stop);

    // The deployed redrive settings, unless a test asks for its own.
    const sendMaxReceiveCount = options.maxReceiveCount ?? options.sendMaxReceiveCount ?? SEND_MAX_RECEIVE_COUNT;
    const eventsMaxReceiveCount = options.maxReceiveCount ?? options.eventsMaxReceiveCount ?? EVENTS_MAX_RECEIVE_COUNT;
    const exportsMaxReceiveCount = options.maxReceiveCount ?? options.exportsMaxReceiveCount ?? 3;
    const queueDefinitions: QueueDefinition[] = [
      ...queueWithDlq("wxcoupon-send", options.sendVisibilityTimeoutSeconds ?? 60, sendMaxReceiveCount),
      ...queueWithDlq("wxcoupon-coupon-events", options.eventsVisibilityTimeoutSeconds ?? 30, eventsMaxReceiveCount),
      ...queueWithDlq("wxcoupon-exports", options.exportsVisibilityTimeoutSeconds ?? 1800, exportsMaxReceiveCount),
      ...queueWithDlq(
        "wxcoupon-event-forward",
        options.forwardVisibilityTimeoutSeconds ?? 180,
        options.forwardMaxReceiveCount ?? 5,
      ),
      // The events publisher's stream mapping reports what it could not publish here (OnFailure destination).
      deadLetterQueue("wxcoupon-events-stream-dlq"),
    ];
    const localSqs = await startDurableSqs({
      region,
      queues: queueDefinitions,
      ...(sqsPath === undefined ? {} : { dir: sqsPath }),
    });
    stops.push(localSqs.stop);
    const sqsEndpoint = localSqs.endpoint;
    const queue = (name: string): QueueInfo => localSqs.queues[name]!;
    const send = queue("wxcoupon-send");
    const sendDlq = queue("wxcoupon-send-dlq");
    const events = queue("wxcoupon-coupon-events");
    const eventsDlq = queue("wxcoupon-coupon-events-dlq");
    const exports = queue("wxcoupon-exports");
    const exportsDlq = queue("wxcoupon-exports-dlq");
    const streamFailureDlq = queue("wxcoupon-events-stream-dlq");
    const forward = queue("wxcoupon-event-forward");
    const forwardDlq = queue("wxcoupon-event-forward-dlq");

    const secretsManager = await startFakeSecretsManager({
      region,
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    stops.push(secretsManager.stop);

    const ddb = new DynamoDBClient({ endpoint: dynalite.endpoint, region, credentials });
    stops.push(async () => ddb.destroy());
    const { created: tableCreated } = await ensureTable(ddb, tableName);

    const sqs = createSqsClient({ endpoint: sqsEndpoint, region, credentials });
    stops.push(async () => sqs.destroy());

    const s3 = new S3Client({ endpoint: sqsEndpoint, region, credentials, forcePathStyle: true });
    stops.push(async () => s3.destroy());
    if (options.exportBucket) {
      await s3.send(new CreateBucketCommand({ Bucket: options.exportBucket.name }));
      if (options.exportBucket.expirationDays !== undefined) {
        const lifecycle = startBucketExpiry(s3, options.exportBucket.name, options.exportBucket.expirationDays);
        stops.push(lifecycle.stop);
      }
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
      endpoints: {
        dynamodb: dynalite.endpoint,
        sqs: sqsEndpoint,
        secretsManager: secretsManager.endpoint,
        s3: sqsEndpoint,
      },
      queues: { send, sendDlq, events, eventsDlq, streamFailureDlq, forward, forwardDlq, exports, exportsDlq },
      s3,
      onTableChange: (listener) => {
        changeListeners.add(listener);
        return () => changeListeners.delete(listener);
      },
      secretsManager,
      tableCreated,
      restoredMessages: localSqs.restoredMessages,
      sqs,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * A dead-letter queue as `infra/stacks/stateful-stack.ts` declares each one: SQS's default 30 s visibility, DLQ_RETENTION
 * (14 days, SQS's maximum).
 */
function deadLetterQueue(name: string): QueueDefinition {
  return { name, visibilityTimeoutSeconds: 30, messageRetentionPeriodSeconds: 1_209_600 };
}

/** A queue and its DLQ `${name}-dlq`, which takes a message after `maxReceiveCount` receives. */
function queueWithDlq(name: string, visibilityTimeoutSeconds: number, maxReceiveCount: number): QueueDefinition[] {
  const dlq = deadLetterQueue(`${name}-dlq`);
  return [dlq, { name, visibilityTimeoutSeconds, redrive: { deadLetterQueue: dlq.name, maxReceiveCount } }];
}
