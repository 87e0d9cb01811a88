import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbRateCounter } from "#shared/adapters/dynamodb/dynamodb-rate-counter.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { merchantScope } from "#shared/domain/rate/rate-governor.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack();
  stockId = await runningStock(stack, "it-budget-stock");
  // The send-api function warm (POST /coupons is its only route): the first case spends a few seconds of budget, and a
  // cold start on this shared machine can outlast them.
  const warm = await callApi(stack, "POST", "/coupons", {
    stock_id: stockId,
    openid: "o-budget-warm",
    out_request_no: "it-budget-warm",
  });
  expect(warm.status).toBe(200);
}, 60_000);
afterAll(async () => stack?.stop());

function table() {
  const { endpoints, env } = stack.emulators;
  const doc = createDocumentClient({
    endpoint: endpoints.dynamodb,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  return { doc, tableName: env.TABLE_NAME };
}

describe("POST /coupons and the merchant's send budget", () => {
  it("answers 429 SEND_BUDGET_EXHAUSTED, records nothing final, when interactive sends alone spend the budget; the same key sends later", async () => {
    const { doc, tableName } = table();
    try {
      // Other interactive sends (another API environment) have spent the whole 500/s budget of the coming seconds.
      const counter = new DynamoDbRateCounter({ doc, tableName });
      const now = Math.floor(Date.now() / 1000);
      for (let second = now - 1; second <= now + 4; second++)
        await counter.take(merchantScope(stack.mchid), second, { tokens: 500, asked: 500 });
      const request = { stock_id: stockId, openid: "o-budget-1", out_request_no: "it-budget-1" };
      const refused = await callApi(stack, "POST", "/coupons", request);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: "SEND_BUDGET_EXHAUSTED" });
      expect(refused.headers.get("retry-after")).toBe("1");
      // Nothing final recorded, nothing sent: the record claimed while the token was asked for stays PENDING, its
      // lease released and no attempt counted (the call never started).
      const ledger = new DynamoDbSendLedger({ doc, tableName });
      expect(await ledger.get({ mchid: stack.mchid, outRequestNo: "it-budget-1" })).toMatchObject({
        state: "PENDING",
        leaseUntil: 0,
        attempts: 0,
      });
      expect(stack.simulator.ledger().filter((c) => c.out_request_no === "it-budget-1")).toHaveLength(0);
      // Once the spent seconds are past, the same key sends.
      await new Promise((resolve) => setTimeout(resolve, (now + 5) * 1000 - Date.now() + 50));
      const sent = await callApi(stack, "POST", "/coupons", request);
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({ out_request_no: "it-budget-1", replayed: false });
    } finally {
      doc.destroy();
    }
  }, 60_000);

  it("a 429 from WeChat is tried again with a new token each time, never retried outside the budget", async () => {
    const { doc, tableName } = table();
    const setFaults = async (body: Record<string, unknown>) => {
      const answer = await fetch(`${stack.simulatorUrl}/_simulator/faults`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(200);
    };
    try {
      const counter = new DynamoDbRateCounter({ doc, tableName });
      const before = stack.simulator.stats().faults_by_kind["429"];
      // WeChat answers every send 429 (something else of the merchant's holds its limit).
      await setFaults({ error_rate: 1, kinds: ["429"], phase: "before", routes: ["send-coupon"] });
      // From a fresh second: the one before may hold the previous case's send.
      await new Promise((resolve) => setTimeout(resolve, 1_020 - (Date.now() % 1000)));
      const start = Math.floor(Date.now() / 1000);
      const request = { stock_id: stockId, openid: "o-budget-3", out_request_no: "it-budget-3" };
      const refused = await callApi(stack, "POST", "/coupons", request).finally(() => setFaults({ error_rate: 0 }));
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: "RATE_LIMITED" });
      // Tried again (up to 3 calls, while its 2 s of token waits last), each call after a token of the merchant's
      // budget: the client retried none by itself.
      const calls = stack.simulator.stats().faults_by_kind["429"] - before;
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(calls).toBeLessThanOrEqual(3);
      let interactive = 0;
      for (let second = start; second <= Math.floor(Date.now() / 1000); second++)
        interactive += (await counter.usage(merchantScope(stack.mchid), second))?.interactive ?? 0;
      expect(interactive).toBe(calls);
      // Nothing final: the same key sends once WeChat takes sends again.
      const sent = await callApi(stack, "POST", "/coupons", request);
      expect(sent.status).toBe(200);
    } finally {
      doc.destroy();
    }
  }, 60_000);

  it("a send takes a token from the merchant's counter, as campaigns do", async () => {
    const { doc, tableName } = table();
    try {
      const counter = new DynamoDbRateCounter({ doc, tableName });
      // From a fresh second: the one before may hold the previous case's send.
      await new Promise((resolve) => setTimeout(resolve, 1_020 - (Date.now() % 1000)));
      const start = Math.floor(Date.now() / 1000);
      const sent = await callApi(stack, "POST", "/coupons", {
        stock_id: stockId,
        openid: "o-budget-2",
        out_request_no: "it-budget-2",
      });
      expect(sent.status).toBe(200);
      const now = Math.floor(Date.now() / 1000);
      let interactive = 0;
      for (let second = start; second <= now; second++)
        interactive += (await counter.usage(merchantScope(stack.mchid), second))?.interactive ?? 0;
      expect(interactive).toBe(1);
    } finally {
      doc.destroy();
    }
  });
});
