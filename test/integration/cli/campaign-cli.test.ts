import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { readUploadState, stateFileOf, writeUploadState } from "#shared/cli/upload-state.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

const ROOT = join(import.meta.dirname, "../../..");
const LINES = 1_000;

let stack: LocalStack;
let stockId: string;
const dir = mkdtempSync(join(tmpdir(), "wxcoupon-cli-e2e-"));

beforeAll(async () => {
  stack = await startTestStack({ sendRatePerSecond: 400, workerConcurrency: 4 });
  stockId = await runningStock(stack, "it-cli-stock");
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function wxcoupon(args: string[]): Run {
  const child = spawn(process.execPath, ["bin/wxcoupon.js", ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (data: Buffer) => {
    stdout += data.toString();
  });
  child.stderr!.on("data", (data: Buffer) => {
    stderr += data.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exit };
}

describe("wxcoupon campaign against the local stack", () => {
  it("is killed mid-upload, resumes, and ends with exactly one coupon per line of a 1,000-line CSV", async () => {
    const csv = join(dir, "openids.csv");
    const openids = Array.from({ length: LINES }, (_, i) => `cli-user-${String(i).padStart(4, "0")}`);
    writeFileSync(csv, `openid\n${openids.join("\n")}\n`);
    const args = [
      "campaign",
      "send",
      ...["--stock", stockId, "--file", csv, "--api", stack.apiUrl, "--token", stack.token, "--chunk-size", "125"],
    ];

    // First run: killed (SIGKILL: no clean-up of any kind) once the service acknowledged two chunks.
    const first = wxcoupon(args);
    const statePath = stateFileOf(csv);
    const deadline = Date.now() + 30_000;
    while ((readUploadState(statePath)?.chunksAcked ?? 0) < 2) {
      if (Date.now() > deadline) throw new Error(`no chunk acknowledged in 30 s:\n${(await first.exit).stderr}`);
      await sleep(2);
    }
    first.child.kill("SIGKILL");
    expect((await first.exit).signal).toBe("SIGKILL");
    const interrupted = readUploadState(statePath)!;
    expect(interrupted.chunksTotal).toBe(8);
    expect(interrupted.chunksAcked).toBeGreaterThanOrEqual(2);
    expect(interrupted.chunksAcked).toBeLessThan(8);

    // Second run: the same command resumes the same campaign and waits for it to complete.
    const second = await wxcoupon(args).exit;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`resuming campaign ${interrupted.campaignId}`);
    expect(second.stdout).toMatch(/State\s+COMPLETED/);
    expect(second.stdout).toMatch(new RegExp(`Sent\\s+${LINES}\\b`));

    const campaign = await callApi(stack, "GET", `/campaigns/${interrupted.campaignId}`);
    expect(campaign.body).toMatchObject({ state: "COMPLETED", total: LINES, sent: LINES, failed: 0, sealed: true });
    const wanted = new Set(openids);
    const coupons = stack.simulator.ledger().filter((c) => wanted.has(c.openid));
    expect(coupons).toHaveLength(LINES);
    expect(new Set(coupons.map((c) => c.openid)).size).toBe(LINES);
    expect(new Set(coupons.map((c) => c.out_request_no)).size).toBe(LINES);
    expect(readFileSync(`${csv}.failures.csv`, "utf8")).toBe("openid,out_request_no,code\n");
  }, 90_000);

  it("exits 5 for a campaign the service no longer has, and the command it prints sends it all", async () => {
    const csv = join(dir, "lost.csv");
    const openids = Array.from({ length: 30 }, (_, i) => `cli-lost-${i}`);
    writeFileSync(csv, `${openids.join("\n")}\n`);
    // What a restarted stack leaves behind: a state file whose chunks the service never saw (or forgot).
    writeUploadState(stateFileOf(csv), {
      version: 1,
      campaignId: "cli-lost-campaign",
      stockId,
      apiUrl: stack.apiUrl.replace(/\/+$/, ""),
      chunkSize: 10,
      chunksTotal: 3,
      chunksAcked: 3,
      sealed: true,
      startedAt: new Date().toISOString(),
    });
    const args = ["campaign", "send", "--stock", stockId, "--file", csv, "--api", stack.apiUrl];
    const lost = await wxcoupon([...args, "--token", stack.token, "--campaign-id", "cli-lost-campaign"]).exit;
    expect(lost.code, lost.stderr).toBe(5);
    expect(lost.stderr).toContain("no longer has campaign cli-lost-campaign");
    expect(lost.stderr).not.toContain(stack.token);
    const restart = /\n {2}wxcoupon (campaign send .*--restart)\n/.exec(lost.stderr)![1]!.split(" ");
    const again = await wxcoupon(restart.map((a) => (a === "<token>" ? stack.token : a))).exit;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Sent\s+30/);
    const campaign = await callApi(stack, "GET", "/campaigns/cli-lost-campaign");
    expect(campaign.body).toMatchObject({ state: "COMPLETED", total: 30, sent: 30, chunks_received: 3 });
  }, 60_000);

  it("reads the openid column of a CSV, exits 3 when recipients failed, and takes the failures file back", async () => {
    const smallStock = await runningStock(stack, "it-cli-small-stock", { maxCoupons: 5 });
    const csv = join(dir, "people.csv");
    const rows = Array.from({ length: 8 }, (_, i) => `Name ${i},cli-col-${i},1380000000${i}`);
    writeFileSync(csv, `nickname,openid,phone\n${rows.join("\n")}\n`);
    const api = ["--api", stack.apiUrl, "--token", stack.token];
    const first = await wxcoupon(["campaign", "send", "--stock", smallStock, "--file", csv, ...api, "--json"]).exit;
    expect(first.code, first.stderr).toBe(3);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({
      outcome: "completed_with_failures",
      exit_code: 3,
      campaign: { state: "COMPLETED", total: 8, sent: 5, failed: 3 },
      failures_rows: 3,
    });
    const failuresFile = `${csv}.failures.csv`;
    const failed = readFileSync(failuresFile, "utf8").trim().split("\n");
    expect(failed[0]).toBe("openid,out_request_no,code");
    expect(failed).toHaveLength(4);

    // The failures file is an input: a new campaign of exactly those recipients. The empty stock is refused up
    // front by the stock pre-flight (nothing sent); a stock with budget sends them.
    const empty = await wxcoupon(["campaign", "send", "--stock", smallStock, "--file", failuresFile, ...api]).exit;
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("422 STOCK_BUDGET_INSUFFICIENT");
    const fresh = await runningStock(stack, "it-cli-fresh-stock", { maxCoupons: 5 });
    const retry = await wxcoupon(["campaign", "send", "--stock", fresh, "--file", failuresFile, ...api, "--json"]).exit;
    expect(retry.code, retry.stderr).toBe(0);
    const retried = JSON.parse(retry.stdout);
    expect(retried.campaign_id).not.toBe(result.campaign_id);
    expect(retried).toMatchObject({ outcome: "completed", campaign: { total: 3, sent: 3, failed: 0 } });
    const coupons = stack.simulator.ledger().filter((c) => c.openid.startsWith("cli-col-"));
    expect(coupons).toHaveLength(8);
  }, 60_000);

  it("retries a campaign's failures of a code with `campaign retry --wait`, lists it, and steers a campaign", async () => {
    const api = ["--api", stack.apiUrl, "--token", stack.token];
    const guardedStock = await runningStock(stack, "it-cli-guarded-stock", { preventApiAbuse: true });
    const risky = Array.from({ length: 3 }, (_, i) => `cli-risky-${i}`);
    const users = (list: Array<Record<string, unknown>>) =>
      fetch(`${stack.simulatorUrl}/_simulator/users`, { method: "POST", body: JSON.stringify({ users: list }) });
    await users(risky.map((openid) => ({ openid, risky: true })));
    const csv = join(dir, "guarded.csv");
    writeFileSync(csv, `${[...risky, "cli-fine-0", "cli-fine-1"].join("\n")}\n`);
    const sent = await wxcoupon(["campaign", "send", "--stock", guardedStock, "--file", csv, ...api, "--json"]).exit;
    expect(sent.code, sent.stderr).toBe(3);
    const parent = JSON.parse(sent.stdout) as { campaign_id: string };
    expect(JSON.parse(sent.stdout)).toMatchObject({ campaign: { failures_by_code: { USER_ACCOUNT_ABNORMAL: 3 } } });

    const failures = await wxcoupon(["campaign", "failures", parent.campaign_id, ...api]).exit;
    expect(
      failures.stdout
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[0])
        .sort(),
    ).toEqual(risky);

    await users(risky.map((openid) => ({ openid })));
    const retried = await wxcoupon([
      ...["campaign", "retry", parent.campaign_id, "--codes", "USER_ACCOUNT_ABNORMAL", "--wait", "--json", ...api],
    ]).exit;
    expect(retried.code, retried.stderr).toBe(0);
    const retry = JSON.parse(retried.stdout);
    expect(retry).toMatchObject({
      outcome: "completed",
      parent_campaign_id: parent.campaign_id,
      codes: ["USER_ACCOUNT_ABNORMAL"],
      campaign: { state: "COMPLETED", total: 3, sent: 3, failed: 0 },
    });
    const coupons = stack.simulator.ledger().filter((c) => c.openid.startsWith("cli-risky-"));
    expect(coupons.map((c) => c.openid).sort()).toEqual(risky);
    expect(coupons.every((c) => c.out_request_no.startsWith(`${retry.campaign_id}_`))).toBe(true);
    // Again: nothing new.
    const again = await wxcoupon(["campaign", "retry", parent.campaign_id, "--codes", "USER_ACCOUNT_ABNORMAL", ...api])
      .exit;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`continuing retry ${retry.campaign_id}`);
    expect(stack.simulator.ledger().filter((c) => c.openid.startsWith("cli-risky-"))).toHaveLength(3);

    const status = await wxcoupon(["campaign", "status", parent.campaign_id, ...api]).exit;
    expect(status.stdout).toMatch(new RegExp(`Retried by\\s+${retry.campaign_id} \\(USER_ACCOUNT_ABNORMAL\\)`));
    const listed = await wxcoupon(["campaign", "list", "--stock", guardedStock, "--json", ...api]).exit;
    expect(JSON.parse(listed.stdout).data.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([
      retry.campaign_id,
      parent.campaign_id,
    ]);

    // Steering: a scheduled campaign is paused, resumed and cancelled from the command line.
    const scheduled = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", {
      stock_id: guardedStock,
      openids: ["cli-later-0"],
      start_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const id = scheduled.body.campaign_id;
    const pause = await wxcoupon(["campaign", "pause", id, ...api]).exit;
    expect(pause.stdout).toContain(`campaign ${id} paused: PAUSED`);
    const resume = await wxcoupon(["campaign", "resume", id, "--json", ...api]).exit;
    expect(JSON.parse(resume.stdout)).toMatchObject({ changed: true, campaign: { state: "SCHEDULED" } });
    const cancel = await wxcoupon(["campaign", "cancel", id, ...api]).exit;
    // CANCELLING, or already COMPLETED: the sweeper (every second here) records its one unsent recipient CANCELLED.
    expect(cancel.stdout).toMatch(new RegExp(`campaign ${id} cancelled: (CANCELLING|COMPLETED) \\(cancelled\\)`));
    const refused = await wxcoupon(["campaign", "pause", parent.campaign_id, ...api]).exit;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("CAMPAIGN_COMPLETED");
  }, 120_000);
});
