import { randomUUID } from "node:crypto";
import { DescribeTimeToLiveCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { DynamoDbNotificationInbox } from "#shared/adapters/dynamodb/dynamodb-notification-inbox.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { TTL_ATTRIBUTE } from "#shared/adapters/dynamodb/table-definition.js";
import type { DynamoBackend } from "../../helpers/dynamodb-backends.js";
import { newEvent } from "./notification-inbox-contract.js";
import { newSend } from "./send-ledger-contract.js";

/** What only the DynamoDB adapters promise beyond the ports: the item layout the table definition relies on. */
export function dynamoTableChecks(getBackend: () => DynamoBackend) {
  describe("DynamoDB table and items", () => {
    it("stores notifications with expires_at = received + 30 days (epoch seconds) and the coupon index keys", async () => {
      const { doc, tableName } = getBackend();
      const inbox = new DynamoDbNotificationInbox({ doc, tableName });
      const event = newEvent({ receivedAt: 1_800_000_000_500 });
      await inbox.recordOnce(event);
      const { Item } = await doc.send(
        new GetCommand({ TableName: tableName, Key: { pk: `NOTIFY#${event.id}` }, ConsistentRead: true }),
      );
      expect(Item?.[TTL_ATTRIBUTE]).toBe(1_800_000_000 + 30 * 86_400);
      expect(Item).toMatchObject({ gsi1pk: `COUPON#${event.couponId}` });
    });

    it("honours a shorter retention", async () => {
      const { doc, tableName } = getBackend();
      const inbox = new DynamoDbNotificationInbox({ doc, tableName, retentionDays: 7 });
      const event = newEvent({ receivedAt: 1_800_000_000_000 });
      await inbox.recordOnce(event);
      const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `NOTIFY#${event.id}` } }));
      expect(Item?.[TTL_ATTRIBUTE]).toBe(1_800_000_000 + 7 * 86_400);
    });

    it("has TTL enabled on expires_at where the stand-in supports UpdateTimeToLive", async (ctx) => {
      const { client, tableName, ttlEnabled, name } = getBackend();
      if (!ttlEnabled) {
        ctx.skip(`${name} has no UpdateTimeToLive`);
        return;
      }
      const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      expect(TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: "ENABLED", AttributeName: TTL_ATTRIBUTE });
    });

    it("answers a lost claim from ALL_OLD where supported, else with one consistent GetItem", async () => {
      const backend = getBackend();
      const sent: string[] = [];
      // Count the commands the adapter sends, by name, through a thin proxy over the DocumentClient.
      const doc = new Proxy(backend.doc, {
        get(target, prop, receiver) {
          if (prop !== "send") return Reflect.get(target, prop, receiver);
          return (command: object, ...rest: unknown[]) => {
            sent.push(command.constructor.name);
            return (target.send as (...a: unknown[]) => unknown).call(target, command, ...rest);
          };
        },
      });
      const ledger = new DynamoDbSendLedger({ doc, tableName: backend.tableName });
      const input = newSend();
      await ledger.claim(input);
      sent.length = 0;
      const again = await ledger.claim({ ...input, requestHash: "other" });
      expect(again).toMatchObject({ created: false, record: { requestHash: "hash-a" } });
      // DynamoDB Local returns the old item (still marshalled); dynalite ignores ReturnValuesOnConditionCheckFailure.
      expect(sent).toEqual(backend.returnsOldItemOnConditionFailure ? ["PutCommand"] : ["PutCommand", "GetCommand"]);
    });

    it("rejects a second conditional put of one key (the primitive every claim relies on)", async () => {
      const { client, tableName } = getBackend();
      const pk = `TEST#${randomUUID()}`;
      const put = () =>
        client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { pk: { S: pk } },
            ConditionExpression: "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        );
      await put();
      await expect(put()).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    });
  });
}
