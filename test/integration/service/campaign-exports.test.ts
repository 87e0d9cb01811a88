import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import type {
  CampaignCouponsResponse,
  CampaignExportResponse,
  CouponLifecycleResponse,
} from "#shared/edges/http/response-schemas.js";
import { responseSchemaFor } from "../../helpers/documented-responses.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let stockId: string;
let couponsCsv: string;
const dir = mkdtempSync(join(tmpdir(), "wxcoupon-exports-cli-"));
const ROOT = join(import.meta.dirname, "../../..");

beforeAll(async () => {
  stack = await startTestStack({ workerConcurrency: 2 });
  // prevent_api_abuse: WeChat refuses risky users (USER_ACCOUNT_ABNORMAL), which gives the campaign its failures.
  stockId = await runningStock(stack, "it-exports-stock", { preventApiAbuse: true });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `wxcoupon …` as a user runs it (bin/wxcoupon.js in a child process), against this stack. */
function wxcoupon(args: string[], columns = 60): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ["bin/wxcoupon.js", ...args, "--api", stack.apiUrl, "--token", stack.sendToken],
    {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", COLUMNS: String(columns) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

const CRLF = "\r\n";

/** Calls an export route and checks the answer against the OpenAPI document. */
async function exportCall(method: "GET" | "POST", path: string, body?: unknown) {
  const response = await callApi<CampaignExportResponse & { code?: string; field?: string }>(stack, method, path, body);
  const documented =
    method === "POST" ? "/campaigns/{campaign_id}/exports" : "/campaigns/{campaign_id}/exports/{export_id}";
  const schema = responseSchemaFor(method, documented, response.status);
  expect(schema?.safeParse(response.body).success, JSON.stringify(response.body)).toBe(true);
  return response;
}

/** Starts an export, waits until the export function completed it, downloads the file through its presigned URL. */
async function exported(
  campaignId: string,
  what: "coupons" | "failures",
): Promise<{ csv: string; answer: CampaignExportResponse }> {
  const started = await exportCall("POST", `/campaigns/${campaignId}/exports`, { what });
  expect(started.status).toBe(202);
  expect(started.body).toMatchObject({ campaign_id: campaignId, what, replayed: false });
  const path = `/campaigns/${campaignId}/exports/${started.body.export_id}`;
  await expect
    .poll(async () => (await exportCall("GET", path)).body.state, { timeout: 60_000, interval: 250 })
    .toBe("COMPLETED");
  const answer = (await exportCall("GET", path)).body;
  const download = await fetch(answer.download_url!);
  expect(download.status).toBe(200);
  const csv = await download.text();
  expect(answer.bytes).toBe(Buffer.byteLength(csv));
  return { csv, answer };
}

describe("campaign exports through the local stack", () => {
  it("exports a campaign's coupons (used ones with their use) and its failures as exact CSV files", async () => {
    const risky = ["ex-risky-0", "ex-risky-1"];
    const users = await fetch(`${stack.simulatorUrl}/_simulator/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ users: risky.map((openid) => ({ openid, risky: true })) }),
    });
    expect(users.status).toBe(200);
    const campaignId = "it-exports-campaign";
    const posted = await callApi(stack, "POST", "/campaigns", {
      campaign_id: campaignId,
      stock_id: stockId,
      // A comma and a quote would need quoting; openids cannot hold them, so the failure message shows it instead.
      openids: ["ex-ok-0", "ex-ok-1", "ex-ok-2", "ex-ok-3", ...risky],
    });
    expect(posted.status).toBe(202);
    await expect
      .poll(async () => (await callApi<{ state: string }>(stack, "GET", `/campaigns/${campaignId}`)).body.state, {
        timeout: 60_000,
        interval: 250,
      })
      .toBe("COMPLETED");

    const listed = async () =>
      (await callApi<CampaignCouponsResponse>(stack, "GET", `/campaigns/${campaignId}/coupons?limit=100`)).body.data;
    await expect.poll(async () => (await listed()).length, { timeout: 30_000, interval: 250 }).toBe(4);
    const toUse = (await listed()).slice(0, 2);
    for (const c of toUse) {
      const used = await fetch(`${stack.simulatorUrl}/_simulator/coupons/${c.coupon_id}/use`, {
        method: "POST",
        body: "{}",
      });
      expect(used.status).toBe(200);
    }
    for (const c of toUse) {
      await expect
        .poll(
          async () => (await callApi<CouponLifecycleResponse>(stack, "GET", `/coupons/${c.coupon_id}`)).body.state,
          {
            timeout: 30_000,
            interval: 250,
          },
        )
        .toBe("USED");
    }
    // The index is eventually consistent: wait until it lists both uses, then take it as the expected content.
    await expect
      .poll(async () => (await listed()).filter((c) => c.state === "USED").length, { timeout: 10_000, interval: 250 })
      .toBe(2);
    const coupons = await listed();

    const { csv, answer } = await exported(campaignId, "coupons");
    const header =
      "coupon_id,openid,out_request_no,stock_id,state,sent_at,used_at,used_amount,coupon_amount,transaction_ids," +
      "consume_mchid,refunded_at";
    // The export pages the stock's coupons by id, an order a use or refund during the export cannot change.
    const byId = [...coupons].sort((a, b) => (a.coupon_id < b.coupon_id ? -1 : a.coupon_id > b.coupon_id ? 1 : 0));
    const rows = byId.map((c) =>
      [
        c.coupon_id,
        c.openid,
        c.out_request_no,
        stockId,
        c.state,
        c.sent_at,
        c.used_at ?? "",
        c.used_amount ?? "",
        c.coupon_amount ?? "",
        c.transaction_ids.join(";"),
        c.consume_mchid ?? "",
        c.refunded_at ?? "",
      ].join(","),
    );
    expect(csv).toBe([header, ...rows].map((l) => `${l}${CRLF}`).join(""));
    couponsCsv = csv;
    expect(
      coupons.filter((c) => c.state === "USED").every((c) => c.transaction_ids.length === 1 && c.used_amount === 100),
    ).toBe(true);
    expect(answer).toMatchObject({ rows_written: 4, invocations: 1, download_expires_at: expect.any(String) });

    // The same request while the export is fresh: the same export, replayed.
    const again = await exportCall("POST", `/campaigns/${campaignId}/exports`, { what: "coupons" });
    expect(again.body).toMatchObject({ export_id: answer.export_id, replayed: true, state: "COMPLETED" });

    // Failures: each failed send with WeChat's code and message, its tries and when it failed.
    const failures = await exported(campaignId, "failures");
    const doc = createDocumentClient({
      endpoint: stack.emulators.endpoints.dynamodb,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const ledger = new DynamoDbSendLedger({ doc, tableName: stack.emulators.env.TABLE_NAME });
    const sends = (await ledger.listByCampaign(campaignId, { limit: 100 })).items.filter((r) => r.state === "FAILED");
    expect(sends.map((r) => r.openid).sort()).toEqual(risky);
    const quote = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
    expect(failures.csv).toBe(
      [
        "openid,out_request_no,code,message,attempts,failed_at",
        ...sends.map((r) =>
          [
            r.openid,
            r.outRequestNo,
            "USER_ACCOUNT_ABNORMAL",
            quote(r.errorMessage ?? ""),
            r.attempts,
            new Date(r.updatedAt).toISOString(),
          ].join(","),
        ),
      ]
        .map((l) => `${l}${CRLF}`)
        .join(""),
    );
    expect(failures.answer.rows_written).toBe(2);
    doc.destroy();
  }, 180_000);

  it("wxcoupon campaign report prints the report and its chart; campaign export downloads the same CSV", async () => {
    const report = await wxcoupon(["campaign", "report", "it-exports-campaign"]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/^Used\s+2$/m);
    expect(report.stdout).toMatch(/^Failed\s+2$/m);
    expect(report.stdout).toMatch(/^ {2}USER_ACCOUNT_ABNORMAL\s+2$/m);
    expect(report.stdout).toMatch(/^Redemption\s+50\.00%$/m);
    const chart = report.stdout.split("Uses by day\n")[1]!.trimEnd().split("\n");
    expect(chart).toHaveLength(1);
    expect(chart[0]).toMatch(/^\d{4}-\d{2}-\d{2} │█+ 2$/);
    expect(chart[0]!.length).toBeLessThan(60);
    const asJson = await wxcoupon(["campaign", "report", "it-exports-campaign", "--json"]);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ used: 2, used_amount: 200, sent: 4, failed: 2 });

    const out = join(dir, "coupons.csv");
    const exported = await wxcoupon(["campaign", "export", "it-exports-campaign", "--what", "coupons", "--out", out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(`4 coupons`);
    // The fresh export of the same kind is answered again: the same file.
    expect(readFileSync(out, "utf8")).toBe(couponsCsv);
    const bad = await wxcoupon(["campaign", "export", "it-exports-campaign", "--what", "all"]);
    expect(bad.code).toBe(2);
  }, 60_000);

  it("answers 400 naming the field, and 404 for an unknown campaign or another campaign's export", async () => {
    const bad = await exportCall("POST", "/campaigns/it-exports-campaign/exports", { what: "everything" });
    expect(bad).toMatchObject({ status: 400, body: { field: "what" } });
    expect((await exportCall("POST", "/campaigns/it-exports-nope/exports", { what: "coupons" })).status).toBe(404);
    const badId = await exportCall("GET", "/campaigns/it-exports-campaign/exports/not-an-id");
    expect(badId).toMatchObject({ status: 400, body: { field: "export_id" } });
    const other = await callApi(stack, "POST", "/campaigns", {
      campaign_id: "it-exports-other",
      stock_id: stockId,
      openids: ["ex-other"],
    });
    expect(other.status).toBe(202);
    const started = await exportCall("POST", "/campaigns/it-exports-other/exports", { what: "failures" });
    expect(started.status).toBe(202);
    const foreign = await exportCall("GET", `/campaigns/it-exports-campaign/exports/${started.body.export_id}`);
    expect(foreign).toMatchObject({ status: 404, body: { code: "EXPORT_NOT_FOUND", field: "export_id" } });
  }, 60_000);
});
