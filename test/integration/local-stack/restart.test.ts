import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { startLocalStack } from "#local/stack/start-local-stack.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { callApi, runningStock } from "../../helpers/local-stack-client.js";
import { setSimulatorFaults } from "../../helpers/simulator-control.js";

const ROOT = join(import.meta.dirname, "../../..");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "wxcoupon-restart-"));
  dirs.push(dir);
  return dir;
};

interface StackJson {
  api_url: string;
  simulator_url: string;
  token: string;
  stock_creator_mchid: string;
}

interface NpmStart {
  child: ChildProcess;
  stack: { apiUrl: string; simulatorUrl: string; token: string; mchid: string };
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start`'s program (`local/start.ts`) as a child on `dataDir`, free ports; resolves once it is serving. */
function npmStart(dataDir: string): Promise<NpmStart> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "local/start.ts", "--data-dir", dataDir, "--port", "0", "--simulator-port", "0"],
      { cwd: ROOT, env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    const collect = (data: Buffer) => {
      output += data.toString();
      if (!output.includes("wxcoupon is running locally")) return;
      child.stdout!.off("data", collect);
      child.stdout!.on("data", (more: Buffer) => {
        output += more.toString();
      });
      const json = JSON.parse(readFileSync(join(dataDir, "stack.json"), "utf8")) as StackJson;
      resolve({
        child,
        stack: {
          apiUrl: json.api_url,
          simulatorUrl: json.simulator_url,
          token: json.token,
          mchid: json.stock_creator_mchid,
        },
        output: () => output,
        exited,
      });
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", (data: Buffer) => {
      output += data.toString();
    });
    void exited.then((code) => reject(new Error(`npm start exited (${code}) before serving:\n${output}`)));
  });
}

describe("restarting the local stack", () => {
  it("finishes a campaign stopped by SIGINT mid-way once started again: one coupon per recipient, counters equal to WeChat's ledger", async () => {
    const dataDir = tempDir();
    const recipients = 1_000;
    let run = await npmStart(dataDir);
    try {
      const stockId = await runningStock(run.stack, "restart-stock");
      const openids = Array.from({ length: recipients }, (_, i) => `restart-${String(i).padStart(4, "0")}`);
      const posted = await callApi<{ campaign_id: string; total: number }>(run.stack, "POST", "/campaigns", {
        stock_id: stockId,
        openids,
        rate_per_second: 200,
      });
      expect(posted).toMatchObject({ status: 202, body: { total: recipients } });
      const path = `/campaigns/${posted.body.campaign_id}`;
      await expect
        .poll(async () => (await callApi<{ sent: number }>(run.stack, "GET", path)).body.sent, {
          timeout: 60_000,
          interval: 100,
        })
        .toBeGreaterThanOrEqual(recipients / 4);

      run.child.kill("SIGINT"); // Ctrl-C
      expect(await run.exited).toBe(0);
      run = await npmStart(dataDir);
      expect(run.output()).toMatch(/Queues +\d+ message\(s\) kept from the last run/);
      const stopped = (await callApi<{ state: string; sent: number }>(run.stack, "GET", path)).body;
      expect(stopped.state).toBe("SENDING");
      expect(stopped.sent).toBeLessThan(recipients);

      await expect
        .poll(async () => (await callApi<{ state: string }>(run.stack, "GET", path)).body.state, {
          timeout: 90_000,
          interval: 250,
        })
        .toBe("COMPLETED");
      const campaign = (await callApi(run.stack, "GET", path)).body;
      const response = await fetch(`${run.stack.simulatorUrl}/_simulator/ledger?stock_id=${stockId}`);
      const ledger = (await response.json()) as { data: Array<{ openid: string; out_request_no: string }> };
      expect(new Set(ledger.data.map((c) => c.openid))).toEqual(new Set(openids));
      expect(new Set(ledger.data.map((c) => c.out_request_no)).size).toBe(recipients);
      expect(campaign).toMatchObject({ total: recipients, sent: ledger.data.length, failed: 0, pending: 0 });
      expect(ledger.data).toHaveLength(recipients);
    } finally {
      run.child.kill("SIGINT");
      await run.exited;
    }
  }, 180_000);

  it("does not re-queue a synchronous send that was answered 503", async () => {
    const dataDir = tempDir();
    const options = { dataDir, sendVisibilityTimeoutSeconds: 10, wechatTimeoutMs: 1_000 };
    const first = await startLocalStack(options);
    const key = { mchid: first.mchid, outRequestNo: "sync-503" };
    try {
      const stockId = await runningStock(first, "restart-503-stock");
      await setSimulatorFaults(first, { error_rate: 1, kinds: ["500"], phase: "before" });
      const answer = await callApi(first, "POST", "/coupons", {
        stock_id: stockId,
        openid: "o-sync-503",
        out_request_no: key.outRequestNo,
      });
      expect(answer.status).toBe(503);
      await setSimulatorFaults(first, { error_rate: 0 });
    } finally {
      await first.stop(); // what Ctrl-C does (local/start.ts)
    }

    const second = await startLocalStack(options);
    try {
      // The send's record is still PENDING, and nothing was put on the queue for it, then or now.
      const doc = createDocumentClient({
        endpoint: second.emulators.endpoints.dynamodb,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      });
      const record = await new DynamoDbSendLedger({ doc, tableName: second.emulators.env.TABLE_NAME }).get(key);
      doc.destroy();
      expect(record).toMatchObject({ state: "PENDING" });
      expect(second.emulators.restoredMessages).toBe(0);
      const { Attributes } = await second.emulators.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: second.emulators.env.SEND_QUEUE_URL, AttributeNames: ["All"] }),
      );
      expect(Attributes).toMatchObject({
        ApproximateNumberOfMessages: "0",
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "0",
      });
      expect(second.simulator.ledger().filter((c) => c.out_request_no === key.outRequestNo)).toEqual([]);
    } finally {
      await second.stop();
    }
  }, 90_000);
});
