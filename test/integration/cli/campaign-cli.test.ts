import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { readUploadState, stateFileOf } from "#shared/cli/upload-state.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

const ROOT = join(import.meta.dirname, "../../..");
const LINES = 2_000;

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

describe("wxcoupon campaign send against the local stack", () => {
  it("is killed mid-upload, resumes, and ends with exactly one coupon per line of a 2,000-line CSV", async () => {
    const csv = join(dir, "openids.csv");
    const openids = Array.from({ length: LINES }, (_, i) => `cli-user-${String(i).padStart(4, "0")}`);
    writeFileSync(csv, `openid\n${openids.join("\n")}\n`);
    const args = [
      "campaign",
      "send",
      ...["--stock", stockId, "--file", csv, "--api", stack.apiUrl, "--token", stack.token, "--chunk-size", "250"],
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
    expect(second.stdout).toMatch(/Sent\s+2000/);

    const campaign = await callApi(stack, "GET", `/campaigns/${interrupted.campaignId}`);
    expect(campaign.body).toMatchObject({ state: "COMPLETED", total: LINES, sent: LINES, failed: 0, sealed: true });
    const wanted = new Set(openids);
    const coupons = stack.simulator.ledger().filter((c) => wanted.has(c.openid));
    expect(coupons).toHaveLength(LINES);
    expect(new Set(coupons.map((c) => c.openid)).size).toBe(LINES);
    expect(new Set(coupons.map((c) => c.out_request_no)).size).toBe(LINES);
    expect(readFileSync(`${csv}.failures.csv`, "utf8")).toBe("openid,out_request_no,code\n");
  }, 90_000);
});
