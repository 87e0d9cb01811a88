/**
 * Use-flow download and parse at scale: `npx tsx test/bench/flow-parse.ts [--rows 1000000]`.
 * This process writes a use-flow file of `--rows` records in WeChat's format to a temp file and plays WeChat: a
 * signed E13 answer (link + SHA-1) and the file streamed from disk. A child process is the merchant: the real client
 * (`client.flows.openUseFlow`) downloads it, checking SHA-1 and the 总条数 summary while it streams, and reads every
 * typed row. The child reports its time and peak RSS, so the figures are the client's alone. Prints numbers, asserts
 * nothing. `runFlowParseBench()` is what `npm run bench` calls.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadPrivateKey } from "#shared/wechatpay/crypto/keys.js";
import { buildResponseMessage } from "#shared/wechatpay/crypto/messages.js";
import { signMessage } from "#shared/wechatpay/crypto/rsa-sha256.js";
import { TEST_PUBLIC_KEY_PEM, testPrivateKeyPem } from "../fixtures/vectors/public-vectors.js";

const KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006";
const MCHID = "1900000001";
const STOCK_ID = "9856000";

/**
 * Peak RSS of the parsing process, in MiB: well inside a 512 MB function, whatever the file's size (nothing of the
 * file is held, so a 10 M-row flow needs the same).
 */
export const FLOW_PARSE_PEAK_RSS_TARGET_MIB = 256;
/**
 * Records per second through download, SHA-1, parse and typing: 10 M rows in 200 s, leaving most of a 15-minute
 * Lambda invocation to what the reconciliation does with them.
 */
export const FLOW_PARSE_ROWS_PER_SECOND_TARGET = 50_000;

export interface FlowParseResult {
  rows: number;
  fileBytes: number;
  seconds: number;
  rowsPerSecond: number;
  /** RSS of the child before the download started (Node, tsx, the client loaded). */
  baselineRssMiB: number;
  peakRssMiB: number;
  sha1Checked: boolean;
}

const HEADER =
  "批次id,优惠id,优惠类型,优惠金额（元）,订单总金额（元）,交易类型,支付单号,消耗时间,消耗商户号,设备号,银行流水号,单品信息";

/** Writes `rows` records in the simulator's (and the observed) use-flow layout; returns size and SHA-1. */
export async function writeFlow(path: string, rows: number): Promise<{ bytes: number; sha1: string }> {
  const out = createWriteStream(path);
  const hash = createHash("sha1");
  let bytes = 0;
  const write = (text: string) => {
    hash.update(text);
    bytes += Buffer.byteLength(text);
    return out.write(text) ? undefined : new Promise<void>((r) => out.once("drain", () => r()));
  };
  await write(`${HEADER}\r\n`);
  const base = Date.parse("2030-05-20T00:00:00+08:00");
  let batch = "";
  for (let i = 0; i < rows; i++) {
    const time = new Date(base + i * 1000 + 8 * 3_600_000).toISOString().slice(0, 19).replace("T", " ");
    const coupon = String(10_000_000_000 + i);
    const transaction = `4200${String(i).padStart(24, "0")}`;
    batch += `\`${STOCK_ID},\`${coupon},\`全场代金券,\`1.00,\`${(2 + (i % 500) / 100).toFixed(2)},\`支付,\`${transaction},\`${time},\`${MCHID},"","",""\r\n`;
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = "";
    }
  }
  await write(`${batch}总条数\r\n\`${rows}\r\n`);
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { bytes, sha1: hash.digest("hex") };
}

/** WeChat's side: E13 answered signed with the public test key, the file streamed from disk. */
export async function playWechat(path: string, sha1: string) {
  const key = loadPrivateKey(testPrivateKeyPem());
  const server = createServer((req, res) => {
    if (req.url?.startsWith("/v3/billdownload/file")) {
      res.writeHead(200, { "Content-Type": "text/csv; charset=utf-8" });
      createReadStream(path).pipe(res);
      return;
    }
    const { port } = server.address() as AddressInfo;
    const body = JSON.stringify({
      url: `http://127.0.0.1:${port}/v3/billdownload/file?token=bench`,
      hash_value: sha1,
      hash_type: "SHA1",
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const nonce = randomBytes(16).toString("hex");
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Wechatpay-Timestamp": String(timestamp),
      "Wechatpay-Nonce": nonce,
      "Wechatpay-Signature": signMessage(buildResponseMessage(timestamp, nonce, body), key),
      "Wechatpay-Serial": KEY_ID,
      "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
      "Request-ID": nonce,
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The merchant's WeChat Pay client in a bench child, pointed at `playWechat`'s server (loaded when called). */
export async function benchClient(baseUrl: string) {
  const { createWechatPayClient } = await import("#shared/wechatpay/client.js");
  return createWechatPayClient({
    mchid: MCHID,
    merchantSerialNo: "BE6DCDA7A5931FA0",
    merchantPrivateKey: testPrivateKeyPem(),
    apiv3Key: "a".repeat(32),
    wechatpayPublicKey: { id: KEY_ID, pem: TEST_PUBLIC_KEY_PEM },
    baseUrl,
    backupBaseUrl: baseUrl,
  });
}

/**
 * Writes a `rows`-record use-flow to a temp folder, plays WeChat over it, and runs the merchant's side in a child:
 * `node [nodeArgs] --import tsx script childArgs(url)`. Returns the child's last stdout line (its JSON figures) and the
 * file's size; throws when the child fails. The server and the folder are gone afterwards.
 */
export async function runFlowChild<T>(options: {
  rows: number;
  script: string;
  childArgs: (wechatUrl: string) => string[];
  nodeArgs?: string[];
  /** Names the child in errors. */
  what: string;
}): Promise<{ figures: T; fileBytes: number }> {
  const dir = await mkdtemp(join(tmpdir(), "wxflow-bench-"));
  const path = join(dir, "use-flow.csv");
  try {
    const { sha1 } = await writeFlow(path, options.rows);
    const fileBytes = (await stat(path)).size;
    const wechat = await playWechat(path, sha1);
    try {
      const child = spawn(
        process.execPath,
        [...(options.nodeArgs ?? []), "--import", "tsx", options.script, ...options.childArgs(wechat.url)],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      if (code !== 0) throw new Error(`the ${options.what} child exited with ${code}`);
      return { figures: JSON.parse(out.trim().split("\n").at(-1)!) as T, fileBytes };
    } finally {
      wechat.server.closeAllConnections();
      wechat.server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The merchant's side, in the child: the real client, every row read and typed. */
async function parseInChild(baseUrl: string): Promise<void> {
  const client = await benchClient(baseUrl);
  const mib = (bytes: number) => bytes / 2 ** 20;
  const baselineRssMiB = mib(process.memoryUsage().rss);
  const started = performance.now();
  const flow = await client.flows.openUseFlow(STOCK_ID);
  let rows = 0;
  let amount = 0;
  for await (const row of flow) {
    rows++;
    amount += row.order_amount;
  }
  const seconds = (performance.now() - started) / 1000;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ rows, amount, seconds, baselineRssMiB, peakRssMiB, sha1Checked: flow.completed?.sha1 === flow.link.hash_value })}\n`,
  );
}

export async function runFlowParseBench(options: { rows?: number } = {}): Promise<FlowParseResult> {
  const rows = options.rows ?? 1_000_000;
  const { figures, fileBytes } = await runFlowChild<Omit<FlowParseResult, "fileBytes" | "rowsPerSecond">>({
    rows,
    script: fileURLToPath(import.meta.url),
    childArgs: (url) => ["--parse", url],
    what: "parsing",
  });
  if (figures.rows !== rows) throw new Error(`read ${figures.rows} rows of ${rows}`);
  return { ...figures, fileBytes, rowsPerSecond: figures.rows / figures.seconds };
}

export function formatFlowParseBench(r: FlowParseResult): string {
  const mb = (r.fileBytes / 2 ** 20).toFixed(0);
  return [
    `use-flow download + parse (${r.rows.toLocaleString("en-US")} rows, ${mb} MiB file, client in a child process)`,
    `  time            ${r.seconds.toFixed(2)} s (${r.rowsPerSecond.toFixed(0)} rows/s, target ≥ ${FLOW_PARSE_ROWS_PER_SECOND_TARGET})`,
    `  peak RSS        ${r.peakRssMiB.toFixed(0)} MiB (before the download ${r.baselineRssMiB.toFixed(0)} MiB; target < ${FLOW_PARSE_PEAK_RSS_TARGET_MIB} MiB)`,
    `  SHA-1 checked   ${r.sha1Checked}`,
  ].join("\n");
}

const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

if (process.argv.includes("--parse")) {
  await parseInChild(argValue("--parse")!);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runFlowParseBench({ rows: Number(argValue("--rows") ?? 1_000_000) });
  console.log(process.argv.includes("--json") ? JSON.stringify(result, null, 2) : formatFlowParseBench(result));
}
