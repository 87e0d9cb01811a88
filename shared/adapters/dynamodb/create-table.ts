import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { createTableInput, TTL_ATTRIBUTE } from "./table-definition.js";

/**
 * Creates the table from `table-definition.ts` if it does not exist, waits until ACTIVE and enables TTL.
 * For the local stack and tests only: in AWS the CDK stack owns the table.
 * Returns whether TTL could be enabled (dynalite has no UpdateTimeToLive; nothing local relies on TTL expiry).
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<{ created: boolean; ttl: boolean }> {
  let created = false;
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    created = true;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let i = 0; ; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === "ACTIVE");
    if (Table?.TableStatus === "ACTIVE" && indexesActive) break;
    if (i > 200) throw new Error(`table ${tableName} did not become ACTIVE`);
    await new Promise((r) => setTimeout(r, 50));
  }
  let ttl = false;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
    ttl = true;
  } catch (error) {
    const name = (error as { name?: string }).name;
    // dynalite: UnknownOperationException. A table that already has TTL on: ValidationException ("already enabled").
    if (name === "ValidationException") ttl = true;
    else if (name !== "UnknownOperationException") throw error;
  }
  return { created, ttl };
}
