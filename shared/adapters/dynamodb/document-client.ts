import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * The DocumentClient every DynamoDB adapter takes. Build it once per container at module scope. With no `endpoint`
 * in `config` the SDK resolves it from the environment (`AWS_ENDPOINT_URL_DYNAMODB` locally, the regional one in AWS).
 * Pass an existing `DynamoDBClient` to share it (e.g. with `ensureTable`).
 */
export function createDocumentClient(config: DynamoDBClientConfig | DynamoDBClient = {}): DynamoDBDocumentClient {
  const client = config instanceof DynamoDBClient ? config : new DynamoDBClient(config);
  return DynamoDBDocumentClient.from(client, {
    // Optional fields (campaignId, couponId, …) are simply left out of the item rather than failing the marshaller.
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** What every DynamoDB adapter is built from: one shared DocumentClient and the single table's name. */
export interface DynamoDbAdapterOptions {
  /** From `createDocumentClient()`. */
  doc: DynamoDBDocumentClient;
  /** env `TABLE_NAME`. */
  tableName: string;
}
