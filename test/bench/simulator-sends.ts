/**
 * Send-coupon throughput of the simulator: `npx tsx test/bench/simulator-sends.ts [--seconds 5] [--concurrency 32]`.
 * The simulator runs in a child process (with a stateDir, so the journal is on) and this process is the merchant:
 * it signs every request, verifies every response signature and counts verified 200s. Prints numbers, asserts nothing.
 * `runSimulatorSendsBench()` is what `npm run bench` calls.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

interface Merchant {
  mchid: string;
  serial: string;
  key: KeyObject;
}

function signAsync(message: string, key: KeyObject): Promise<string> {
  return new Promise((resolve, reject) =>
    sign("sha256", Buffer.from(message), key, (e, s) => (e ? reject(e) : resolve(s.toString("base64")))),
  );
}

let agent = new Agent({ keepAlive: true, maxSockets: 64 });

async function call(base: URL, merchant: Merchant, method: string, path: string, body = "") {
  const ts = Math.floor(Date.now() / 1000);
  const nonce = randomBytes(16).toString("hex");
  const signature = await signAsync(`${method}\n${path}\n${ts}\n${nonce}\n${body}\n`, merchant.key);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path,
          agent,
          headers: {
            Accept: "application/json",
            "User-Agent": "wxcoupon-bench",
            "Content-Type": "application/json",
            Authorization: `WECHATPAY2-SHA256-RSA2048 mchid="${merchant.mchid}",nonce_str="${nonce}",timestamp="${ts}",serial_no="${merchant.serial}",signature="${signature}"`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    },
  );
}

async function startChild(stateDir: string): Promise<{ child: ChildProcess; url: string }> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", self, "--serve", stateDir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /READY (\S+)/.exec(buffer);
      if (match) resolve(match[1]!);
    });
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { child, url };
}

export const SIMULATOR_SENDS_TARGET_PER_SECOND = 1_000;

export interface SimulatorSendsResult {
  seconds: number;
  concurrency: number;
  verified: number;
  verifiedPerSecond: number;
  failed: number;
  latencyMs: { p50: number; p95: number; p99: number };
  couponsIssued: number;
  sendRequests: number;
}

/** Runs the benchmark and returns the figures (for `npm run bench`'s orchestrator). */
export async function runSimulatorSendsBench(
  options: { seconds?: number; concurrency?: number } = {},
): Promise<SimulatorSendsResult> {
  const seconds = options.seconds ?? 5;
  const concurrency = options.concurrency ?? 32;
  agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const stateDir = await mkdtemp(join(tmpdir(), "wxsim-bench-"));
  const { child, url } = await startChild(stateDir);
  try {
    const config = JSON.parse(await readFile(join(stateDir, "simulator.json"), "utf8"));
    const merchant: Merchant = {
      mchid: config.mchid,
      serial: config.merchant_serial_no,
      key: createPrivateKey(await readFile(config.merchant_private_key, "utf8")),
    };
    const platformKey = createPublicKey(await readFile(config.platform_certificate, "utf8"));
    const base = new URL(url);
    const iso = (ms: number) => new Date(ms).toISOString();
    const stock = JSON.stringify({
      stock_name: "bench",
      belong_merchant: config.mchid,
      available_begin_time: iso(Date.now()),
      available_end_time: iso(Date.now() + 86_400_000),
      stock_use_rule: {
        max_coupons: 10_000_000,
        max_amount: 1_000_000_000,
        max_coupons_per_user: 60,
        natural_person_limit: false,
        prevent_api_abuse: false,
      },
      coupon_use_rule: { fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 } },
      no_cash: false,
      stock_type: "NORMAL",
      out_request_no: `BENCH${Date.now()}`,
    });
    const created = await call(base, merchant, "POST", "/v3/marketing/favor/coupon-stocks", stock);
    const stockId = JSON.parse(created.text).stock_id as string;
    await call(
      base,
      merchant,
      "POST",
      `/v3/marketing/favor/stocks/${stockId}/start`,
      JSON.stringify({ stock_creator_mchid: config.mchid }),
    );

    let sequence = 0;
    let verified = 0;
    let failed = 0;
    const latencies: number[] = [];
    const deadline = Date.now() + seconds * 1000;
    const started = Date.now();
    const worker = async () => {
      while (Date.now() < deadline) {
        const n = ++sequence;
        const body = JSON.stringify({
          stock_id: stockId,
          out_request_no: `B${n}`,
          appid: config.appid,
          stock_creator_mchid: config.mchid,
        });
        const t0 = performance.now();
        const res = await call(base, merchant, "POST", `/v3/marketing/favor/users/oBench${n}/coupons`, body);
        latencies.push(performance.now() - t0);
        const h = res.headers;
        const ok =
          res.status === 200 &&
          verify(
            "sha256",
            Buffer.from(`${h["wechatpay-timestamp"]}\n${h["wechatpay-nonce"]}\n${res.text}\n`),
            platformKey,
            Buffer.from(String(h["wechatpay-signature"]), "base64"),
          );
        if (ok) verified++;
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
    const stats = (await (await fetch(`${url}/_simulator/stats`)).json()) as Record<string, number>;
    return {
      seconds: elapsed,
      concurrency,
      verified,
      verifiedPerSecond: verified / elapsed,
      failed,
      latencyMs: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) },
      couponsIssued: stats.coupons_issued ?? 0,
      sendRequests: stats.send_requests ?? 0,
    };
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await rm(stateDir, { recursive: true, force: true });
  }
}

export function formatSimulatorSendsBench(r: SimulatorSendsResult): string {
  return [
    `simulator send-coupon benchmark (simulator in a child process, journal on, concurrency ${r.concurrency})`,
    `  duration        ${r.seconds.toFixed(2)} s`,
    `  verified sends  ${r.verified} (${r.verifiedPerSecond.toFixed(0)}/s, target ≥ ${SIMULATOR_SENDS_TARGET_PER_SECOND}/s: ${r.verifiedPerSecond >= SIMULATOR_SENDS_TARGET_PER_SECOND ? "PASS" : "MISS"})`,
    `  failures        ${r.failed}`,
    `  latency ms      p50 ${r.latencyMs.p50.toFixed(1)}  p95 ${r.latencyMs.p95.toFixed(1)}  p99 ${r.latencyMs.p99.toFixed(1)}`,
    `  simulator says  coupons_issued=${r.couponsIssued} send_requests=${r.sendRequests}`,
  ].join("\n");
}

if (process.argv.includes("--serve")) {
  const { startSimulator } = await import("#local/simulator/index.js");
  const stateDir = process.argv[process.argv.indexOf("--serve") + 1]!;
  const sim = await startSimulator({ port: 0, stateDir, sendRateLimitPerSecond: 1_000_000, endpointRateLimits: false });
  process.stdout.write(`READY ${sim.url}\n`);
  process.on("SIGTERM", () => void sim.stop().then(() => process.exit(0)));
  // Never outlive the bench: stdin is a pipe from it, which ends when it exits.
  process.stdin.on("end", () => void sim.stop().then(() => process.exit(0)));
  process.stdin.resume();
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runSimulatorSendsBench({ seconds: arg("--seconds", 5), concurrency: arg("--concurrency", 32) });
  console.log(process.argv.includes("--json") ? JSON.stringify(result, null, 2) : formatSimulatorSendsBench(result));
}
