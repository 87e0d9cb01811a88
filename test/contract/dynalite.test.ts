import { afterAll, beforeAll } from "vitest";
import { type DynamoBackend, startDynaliteBackend } from "../helpers/dynamodb-backends.js";
import { dynamoDbContracts } from "./dynamodb-adapters.js";

let backend: DynamoBackend;
beforeAll(async () => {
  backend = await startDynaliteBackend();
});
afterAll(async () => {
  await backend?.stop();
});

dynamoDbContracts("dynalite", () => backend);
