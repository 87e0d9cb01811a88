import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { startEmulators } from "#local/stack/emulators.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { formatMerchantSecret } from "#shared/adapters/secrets/merchant-secret-json.js";
import { SecretsManagerMerchantSecretSource } from "#shared/adapters/secrets/secrets-manager-merchant-secret-source.js";
import { parseSendMessage } from "#shared/adapters/sqs/message-codec.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";
import { SqsSendQueue } from "#shared/adapters/sqs/sqs-send-queue.js";
import { SEND_MAX_RECEIVE_COUNT } from "#shared/config/queue-settings.js";
import type { SendMessage } from "#shared/domain/ports.js";
import { testMerchantSecret } from "../../helpers/merchant-secret.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "wxcoupon-emulators-"));
  dirs.push(dir);
  return dir;
};

describe("local emulators", () => {
  it("serves the table, the queues with their DLQs and the secret to clients configured only by env", async () => {
    const secret = testMerchantSecret();
    const emulators = await startEmulators({ secrets: { "wxcoupon/merchant": formatMerchantSecret(secret) } });
    const saved = { ...process.env };
    try {
      // What a handler module does at cold start: clients with no endpoint, configured by AWS_ENDPOINT_URL_*.
      Object.assign(process.env, emulators.env);
      const ddb = new DynamoDBClient({});
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: process.env.TABLE_NAME }));
      expect(Table?.GlobalSecondaryIndexes?.map((g) => g.IndexName)).toEqual(["gsi1", "gsi2"]);
      ddb.destroy();

      const sqs = createSqsClient();
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: process.env.SEND_QUEUE_URL, AttributeNames: ["RedrivePolicy"] }),
      );
      expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toMatchObject({
        deadLetterTargetArn: emulators.queues.sendDlq.arn,
        maxReceiveCount: SEND_MAX_RECEIVE_COUNT, // as deployed: the worker recycles on the last receive
      });
      expect(process.env.SEND_MAX_RECEIVE_COUNT).toBe(String(SEND_MAX_RECEIVE_COUNT));
      const events = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: process.env.EVENTS_QUEUE_URL, AttributeNames: ["RedrivePolicy"] }),
      );
      expect(events.Attributes?.RedrivePolicy).toContain(emulators.queues.eventsDlq.arn);
      sqs.destroy();

      const sm = new SecretsManagerClient({});
      const source = new SecretsManagerMerchantSecretSource({ client: sm, secretId: process.env.SECRET_ID! });
      expect(await source.load()).toEqual(secret);
      sm.destroy();
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      await emulators.stop();
    }
    expect(Object.keys(emulators.env).sort()).toEqual(
      [
        "AWS_ACCESS_KEY_ID",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_REGION",
        "AWS_SECRET_ACCESS_KEY",
        "EVENTS_DLQ_URL",
        "EVENTS_QUEUE_URL",
        "SECRET_ID",
        "SEND_DLQ_URL",
        "SEND_MAX_RECEIVE_COUNT",
        "SEND_QUEUE_URL",
        "TABLE_NAME",
      ].sort(),
    );
  });

  it("keeps table items and queued messages across a restart with the same dataDir, and queues nothing else", async () => {
    const dataDir = tempDir();
    const first = await startEmulators({ dataDir });
    expect(first.tableCreated).toBe(true);
    expect(first.restoredMessages).toBe(0);
    const doc = createDocumentClient({
      endpoint: first.endpoints.dynamodb,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const ledger = new DynamoDbSendLedger({ doc, tableName: first.env.TABLE_NAME });
    const base = { mchid: "1900000109", requestHash: "h", stockId: "s1", openid: "u", appid: "wx1", createdAt: 1 };
    // A PENDING record with no message (what a synchronous send answered 503 leaves), a SENT one, and one queued send.
    await ledger.claim({ ...base, outRequestNo: "pending-without-message" });
    await ledger.claim({ ...base, outRequestNo: "sent-1" });
    await ledger.succeed({ mchid: "1900000109", outRequestNo: "sent-1" }, { couponId: "coupon-1" }, 2);
    const queued: SendMessage = {
      mchid: "1900000109",
      outRequestNo: "queued-1",
      campaignId: "camp-1",
      stockId: "s1",
      openid: "u2",
      appid: "wx1",
      ratePerSecond: 25,
    };
    await new SqsSendQueue({ client: first.sqs, queueUrl: first.env.SEND_QUEUE_URL }).enqueue([queued]);
    doc.destroy();
    await first.stop();

    const second = await startEmulators({ dataDir });
    try {
      expect(second.tableCreated).toBe(false);
      const doc2 = createDocumentClient({
        endpoint: second.endpoints.dynamodb,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      });
      const ledger2 = new DynamoDbSendLedger({ doc: doc2, tableName: second.env.TABLE_NAME });
      expect(await ledger2.get({ mchid: "1900000109", outRequestNo: "sent-1" })).toMatchObject({
        state: "SENT",
        couponId: "coupon-1",
      });
      expect(await ledger2.get({ mchid: "1900000109", outRequestNo: "pending-without-message" })).toMatchObject({
        state: "PENDING",
      });
      doc2.destroy();

      // The queue holds what was sent to it, nothing rebuilt from the table.
      expect(second.restoredMessages).toBe(1);
      const { Messages = [] } = await second.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: second.env.SEND_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      expect(Messages.map((m) => parseSendMessage(m.Body!))).toEqual([queued]);
    } finally {
      await second.stop();
    }

    const fresh = await startEmulators({ dataDir, fresh: true });
    try {
      expect(fresh.tableCreated).toBe(true);
      expect(fresh.restoredMessages).toBe(0);
    } finally {
      await fresh.stop();
    }
  });
});
