import { afterAll, beforeAll, describe, it } from "vitest";
import { javaAvailable } from "#local/stack/dynamodb-local.js";
import { type DynamoBackend, startDynamoDbLocalBackend } from "../helpers/dynamodb-backends.js";
import { dynamoDbContracts } from "./dynamodb-adapters.js";

// DynamoDB Local is the stand-in closest to AWS (ALL_OLD on condition failure, TTL). It needs a JRE; .ci/run
// installs one. Without java this backend is skipped, loudly.
const java = javaAvailable();

if (java) {
  let backend: DynamoBackend;
  beforeAll(async () => {
    backend = await startDynamoDbLocalBackend();
  });
  afterAll(async () => {
    await backend?.stop();
  });
  dynamoDbContracts("DynamoDB Local", () => backend);
} else {
  describe("DynamoDB Local contracts", () => {
    it.skip("SKIPPED: `java` is not on PATH — install openjdk-17-jre-headless to run the DynamoDB Local backend", () => {});
  });
}
