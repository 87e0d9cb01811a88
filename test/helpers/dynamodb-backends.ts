import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { startDynalite } from "#local/stack/dynalite.js";
import { startDynamoDbLocal } from "#local/stack/dynamodb-local.js";
import { ensureTable } from "#shared/adapters/dynamodb/create-table.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";

/** A DynamoDB stand-in with the wxcoupon table created, for adapter and contract tests. */
export interface DynamoBackend {
  name: string;
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  tableName: string;
  /** Whether UpdateTimeToLive worked (DynamoDB Local yes, dynalite no). */
  ttlEnabled: boolean;
  /** Whether a failed conditional write returns the old item (DynamoDB Local yes; dynalite ignores the option). */
  returnsOldItemOnConditionFailure: boolean;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: "local", secretAccessKey: "local" };

async function withTable(
  name: string,
  endpoint: string,
  returnsOldItemOnConditionFailure: boolean,
  stopServer: () => Promise<void>,
): Promise<DynamoBackend> {
  const client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
  const doc = createDocumentClient(client);
  const tableName = `wxcoupon-${randomUUID().slice(0, 8)}`;
  const { ttl } = await ensureTable(client, tableName);
  return {
    name,
    endpoint,
    client,
    doc,
    tableName,
    ttlEnabled: ttl,
    returnsOldItemOnConditionFailure,
    stop: async () => {
      client.destroy();
      await stopServer();
    },
  };
}

export async function startDynaliteBackend(): Promise<DynamoBackend> {
  const server = await startDynalite();
  return withTable("dynalite", server.endpoint, false, server.stop);
}

export async function startDynamoDbLocalBackend(): Promise<DynamoBackend> {
  const server = await startDynamoDbLocal();
  return withTable("DynamoDB Local", server.endpoint, true, server.stop);
}
