import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbCampaignStore } from "#shared/adapters/dynamodb/dynamodb-campaign-store.js";
import { KEY } from "#shared/adapters/dynamodb/table-definition.js";
import { type DynamoBackend, startDynaliteBackend } from "../helpers/dynamodb-backends.js";

let backend: DynamoBackend;
beforeAll(async () => {
  backend = await startDynaliteBackend();
});
afterAll(async () => {
  await backend?.stop();
});

describe("DynamoDbCampaignStore and campaign items written before chunked campaigns", () => {
  it("reads them as sealed one-chunk campaigns that still reconcile to COMPLETED", async () => {
    // The item as the adapter wrote it before `chunked`, `sealed`, `last_chunk_no` and `chunks_received` existed.
    await backend.doc.send(
      new PutCommand({
        TableName: backend.tableName,
        Item: {
          pk: KEY.campaign("legacy-1"),
          type: "CAMPAIGN",
          id: "legacy-1",
          request_hash: "h",
          mchid: "1900000109",
          stock_id: "9856000",
          appid: "wx1",
          total: 2,
          rate_per_second: 100,
          enqueued: 2,
          sent: 2,
          failed: 0,
          failures_by_code: {},
          version: 2,
          reconciled: false,
          created_at: 1,
          updated_at: 2,
        },
      }),
    );
    const store = new DynamoDbCampaignStore({ doc: backend.doc, tableName: backend.tableName });
    expect(await store.get("legacy-1")).toMatchObject({
      chunked: false,
      sealed: true,
      lastChunkNo: 0,
      chunksReceived: 1,
      state: "SENDING",
    });
    expect(await store.reconcile("legacy-1", { sent: 2, failed: 0, failuresByCode: {} }, 2, 3)).toBe(true);
    expect((await store.get("legacy-1"))?.state).toBe("COMPLETED");
  });
});
