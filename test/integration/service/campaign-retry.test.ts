import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { responseSchemaFor } from "../../helpers/documented-responses.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

// POST /campaigns/{id}/retry through the whole local stack: the recipients WeChat (the simulator) refused are sent
// again as a retry campaign once the cause is gone, exactly those of the chosen codes, each once, under new keys.

let stack: LocalStack;
let stockId: string;

beforeAll(async () => {
  stack = await startTestStack({ workerConcurrency: 4 });
  // prevent_api_abuse: WeChat refuses risky users with USER_ACCOUNT_ABNORMAL (rule S7).
  stockId = await runningStock(stack, "it-retry-stock", { preventApiAbuse: true });
}, 60_000);
afterAll(async () => stack?.stop());

type Campaign = Record<string, unknown> & { campaign_id: string; state: string };
interface RetryAnswer {
  campaign: Campaign;
  parent_campaign_id: string;
  attempt: number;
  codes: string[];
  created: boolean;
  filling_complete: boolean;
  pages_added: number;
}

const openids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const coupons = (prefix: string) => stack.simulator.ledger().filter((c) => c.openid.startsWith(`${prefix}-`));
const status = async (id: string) => (await callApi<Campaign>(stack, "GET", `/campaigns/${id}`)).body;

async function completed(id: string, timeout = 60_000): Promise<Campaign> {
  await expect.poll(async () => (await status(id)).state, { timeout, interval: 250 }).toBe("COMPLETED");
  return status(id);
}

/** `POST /_simulator/users`: who WeChat takes for a risky user, or for a user of another appid. */
async function setUsers(users: Array<{ openid: string; risky?: boolean; appid?: string }>) {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ users }),
  });
  expect(response.status).toBe(200);
}

/** Calls the retry route and checks the answer against the OpenAPI document. */
async function retry(id: string, codes: unknown) {
  const response = await callApi<RetryAnswer & { code?: string; field?: string }>(
    stack,
    "POST",
    `/campaigns/${id}/retry`,
    { codes },
  );
  const schema = responseSchemaFor("POST", "/campaigns/{campaign_id}/retry", response.status);
  expect(schema?.safeParse(response.body).success, JSON.stringify(response.body)).toBe(true);
  return response;
}

describe("retry of a campaign's failures through the local stack", () => {
  it("sends exactly the failed recipients of the chosen codes again, each once, with new out_request_nos", async () => {
    const risky = openids("rt-risky", 4);
    const alien = openids("rt-alien", 3);
    await setUsers([
      ...risky.map((openid) => ({ openid, risky: true })),
      // Bound to another appid: WeChat answers INVALID_REQUEST (openid与appID不匹配, rule S3).
      ...alien.map((openid) => ({ openid, appid: "wxotherapp00001" })),
    ]);
    const parentId = "it-retry-parent";
    const posted = await callApi(stack, "POST", "/campaigns", {
      campaign_id: parentId,
      stock_id: stockId,
      openids: [...openids("rt-ok", 13), ...risky, ...alien],
    });
    expect(posted.status).toBe(202);
    const parent = await completed(parentId);
    expect(parent).toMatchObject({
      total: 20,
      sent: 13,
      failed: 7,
      failures_by_code: { USER_ACCOUNT_ABNORMAL: 4, INVALID_REQUEST: 3 },
    });
    expect(coupons("rt-risky")).toHaveLength(0);

    // The cause is gone for all seven; rt-risky-0 stays risky for now.
    await setUsers([...risky.slice(1), ...alien].map((openid) => ({ openid })));
    const first = await retry(parentId, ["USER_ACCOUNT_ABNORMAL"]);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      parent_campaign_id: parentId,
      attempt: 1,
      codes: ["USER_ACCOUNT_ABNORMAL"],
      created: true,
      filling_complete: true,
      campaign: { retry_of: { campaign_id: parentId, attempt: 1, codes: ["USER_ACCOUNT_ABNORMAL"] }, total: 4 },
    });
    const childId = first.body.campaign.campaign_id;
    const child = await completed(childId);
    expect(child).toMatchObject({ total: 4, sent: 3, failed: 1, failures_by_code: { USER_ACCOUNT_ABNORMAL: 1 } });

    // Exactly the risky recipients got a coupon, once each, under the retry's keys; no other code was retried.
    const issued = coupons("rt-risky");
    expect(issued.map((c) => c.openid).sort()).toEqual(risky.slice(1));
    expect(issued.every((c) => c.out_request_no.startsWith(`${childId}_`))).toBe(true);
    expect(coupons("rt-alien")).toHaveLength(0);
    expect(stack.simulator.ledger().filter((c) => c.out_request_no.startsWith(`${parentId}_`))).toHaveLength(13);

    // The same retry again does nothing new.
    const again = await retry(parentId, ["USER_ACCOUNT_ABNORMAL"]);
    expect(again.body).toMatchObject({ created: false, filling_complete: true, pages_added: 0 });
    expect(again.body.campaign.campaign_id).toBe(childId);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await status(childId)).toMatchObject({ total: 4, sent: 3, failed: 1 });
    expect(coupons("rt-risky")).toHaveLength(3);

    // The parent lists its retry; codes it covered cannot be retried by another one.
    expect((await status(parentId)).retries).toEqual([{ campaign_id: childId, codes: ["USER_ACCOUNT_ABNORMAL"] }]);
    expect((await retry(parentId, ["INVALID_REQUEST", "USER_ACCOUNT_ABNORMAL"])).body).toMatchObject({
      code: "RETRY_CODES_OVERLAP",
      field: "codes",
    });
    expect((await retry(parentId, ["SYSTEM_ERROR"])).body).toMatchObject({
      code: "NO_FAILURES_TO_RETRY",
      field: "codes",
    });

    // The other code: the parent's second retry.
    const second = await retry(parentId, ["INVALID_REQUEST"]);
    expect(second.body).toMatchObject({ attempt: 2, created: true, filling_complete: true });
    expect(await completed(second.body.campaign.campaign_id)).toMatchObject({ total: 3, sent: 3, failed: 0 });
    expect(
      coupons("rt-alien")
        .map((c) => c.openid)
        .sort(),
    ).toEqual(alien);

    // The retry's own failure: retrying the retry (a grandchild) once rt-risky-0 is no longer risky.
    await setUsers([{ openid: risky[0]! }]);
    const grand = await retry(childId, ["USER_ACCOUNT_ABNORMAL"]);
    expect(grand.body).toMatchObject({
      parent_campaign_id: childId,
      attempt: 1,
      campaign: { retry_of: { campaign_id: childId }, total: 1 },
    });
    expect(await completed(grand.body.campaign.campaign_id)).toMatchObject({ sent: 1, failed: 0 });
    const all = coupons("rt-risky");
    expect(all.map((c) => c.openid).sort()).toEqual(risky);
    expect(new Set(all.map((c) => c.out_request_no)).size).toBe(4);
  }, 180_000);

  it("refuses a campaign that has not completed, bad codes and unknown campaigns", async () => {
    const id = "it-retry-running";
    await callApi(stack, "POST", "/campaigns", {
      campaign_id: id,
      stock_id: stockId,
      chunked: true,
    });
    expect((await retry(id, ["NOT_ENOUGH"])).body).toMatchObject({
      code: "CAMPAIGN_NOT_COMPLETED",
      field: "campaign_id",
    });
    expect(await retry(id, [])).toMatchObject({ status: 400, body: { field: "codes" } });
    expect(await retry(id, "NOT_ENOUGH")).toMatchObject({ status: 400, body: { field: "codes" } });
    expect((await retry("it-retry-nope", ["NOT_ENOUGH"])).status).toBe(404);
  }, 30_000);
});
