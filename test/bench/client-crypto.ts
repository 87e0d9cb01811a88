/**
 * Client crypto throughput beside two well-known Node WeChat Pay libraries, and the bundle size of signing + verifying.
 *
 *   npx tsx test/bench/client-crypto.ts [--time-ms 1000] [--json]
 *
 * Operations (the same inputs for every library, keys parsed once where the library allows it):
 * - sign:    the Authorization header of a send-coupon POST (vector V5a's request, fresh nonce)
 * - verify:  the signature of a send-coupon answer, like for like: RSA-SHA256 over the formatted three-line message
 * - verify-response: wxcoupon's whole response check (headers, probe, ±300 s, key lookup, RSA), for reference
 *            (neither other library has a standalone equivalent)
 * - decrypt: a ~1 KB AEAD_AES_256_GCM resource
 * wechatpay-node-v3 keeps keys as PEM buffers and parses them on every call; that is its API, so it is measured as is.
 * Every task runs in each of `rounds` rounds (interleaved, in alternating order, so drift in CPU speed and order
 * effects hit all libraries alike); the figure is the median round. Prints numbers, asserts nothing.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { Bench } from "tinybench";
import { ESBUILD_TARGET } from "../../infra/constructs/wx-function.js";
import { buildAuthorization, formatAuthorization } from "../../shared/wechatpay/auth/authorization.js";
import { readSignedMessage, verifySignedMessage } from "../../shared/wechatpay/auth/signed-message.js";
import { WechatpayVerificationKeys } from "../../shared/wechatpay/auth/wechatpay-verifier.js";
import { decryptAeadAesGcm, encryptAeadAesGcm } from "../../shared/wechatpay/crypto/aead-aes-gcm.js";
import { loadPrivateKey, loadPublicKey } from "../../shared/wechatpay/crypto/keys.js";
import { buildResponseMessage } from "../../shared/wechatpay/crypto/messages.js";
import { generateNonce } from "../../shared/wechatpay/crypto/nonce.js";
import { signMessage, verifyMessage } from "../../shared/wechatpay/crypto/rsa-sha256.js";
import { TEST_PUBLIC_KEY_PEM, testPrivateKeyPem, V5A_SEND_COUPON } from "../fixtures/vectors/public-vectors.js";

export const BUNDLE_BUDGET_BYTES = 20 * 1024;
const require = createRequire(import.meta.url);

export interface CryptoBenchRow {
  operation: "sign" | "verify" | "verify-response" | "decrypt";
  library: string;
  opsPerSecond: number;
  /** wxcoupon ops/s ÷ this library's ops/s (1 for wxcoupon itself). */
  wxcouponSpeedup: number;
  /** (max − min) ÷ median of this task's rounds: the noise a ratio should be read against. */
  spread: number;
}

export interface BundleFigure {
  entry: string;
  bytes: number;
  gzipBytes: number;
  budgetBytes: number | undefined;
  withinBudget: boolean | undefined;
}

export interface ClientCryptoBenchResult {
  node: string;
  timeMs: number;
  rounds: number;
  rows: CryptoBenchRow[];
  bundles: BundleFigure[];
}

const MCHID = "1900000001";
const MERCHANT_SERIAL = "5F1C72E2A8931B72A2E13AF8DEE92471EB397115";
const PUBLIC_KEY_ID = "PUB_KEY_ID_0114190000000170482146195264181066";
const APIV3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

function fixtures() {
  const privateKeyPem = testPrivateKeyPem();
  const privateKey = loadPrivateKey(privateKeyPem);
  const publicKey = loadPublicKey(TEST_PUBLIC_KEY_PEM);
  const answer = '{"coupon_id":"98674556"}';
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = generateNonce();
  const signature = signMessage(buildResponseMessage(timestamp, nonce, answer), privateKey);
  const headers = new Headers({
    "Wechatpay-Timestamp": String(timestamp),
    "Wechatpay-Nonce": nonce,
    "Wechatpay-Signature": signature,
    "Wechatpay-Serial": PUBLIC_KEY_ID,
    "Request-ID": "bench",
  });
  // ~1 KB of coupon JSON, the size of a COUPON.USE resource.
  const plaintext = JSON.stringify({
    stock_creator_mchid: MCHID,
    stock_id: "9856000",
    coupon_id: "98674556",
    coupon_name: "微信支付代金券",
    description: "微信支付营销".repeat(20),
    status: "USED",
    create_time: "2024-05-20T13:29:35+08:00",
    coupon_type: "NORMAL",
    no_cash: false,
    available_begin_time: "2024-05-20T00:00:00+08:00",
    available_end_time: "2024-06-19T23:59:59+08:00",
    singleitem: false,
    normal_coupon_information: { coupon_amount: 100, transaction_minimum: 200 },
    consume_information: {
      consume_time: "2024-05-21T10:00:00+08:00",
      consume_mchid: MCHID,
      transaction_id: "4200000000000000000000000001",
      goods_detail: Array.from({ length: 4 }, (_, i) => ({
        goods_id: `g${i}`,
        quantity: 1,
        price: 100,
        discount_amount: 10,
      })),
    },
  });
  const resource = { nonce: "5K8264ILTKCH", associatedData: "coupon" };
  const ciphertext = encryptAeadAesGcm({ key: APIV3_KEY, ...resource, plaintext });
  return {
    privateKeyPem,
    privateKey,
    publicKey,
    answer,
    timestamp,
    nonce,
    signature,
    headers,
    plaintext,
    resource,
    ciphertext,
  };
}

async function measureBundle(entry: string, budgetBytes: number | undefined): Promise<BundleFigure> {
  const result = await build({
    entryPoints: [new URL(entry, import.meta.url).pathname],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: ESBUILD_TARGET,
    write: false,
    logLevel: "silent",
  });
  const bytes = result.outputFiles[0]!.contents;
  return {
    entry: `test/bench/${entry}`,
    bytes: bytes.length,
    gzipBytes: gzipSync(bytes).length,
    budgetBytes,
    withinBudget: budgetBytes === undefined ? undefined : bytes.length < budgetBytes,
  };
}

/** Runs the benchmark and returns the figures (for `npm run bench`'s orchestrator). */
export async function runClientCryptoBench(
  options: { timeMs?: number; rounds?: number } = {},
): Promise<ClientCryptoBenchResult> {
  const timeMs = options.timeMs ?? 1000;
  const rounds = options.rounds ?? 3;
  const f = fixtures();
  const credentials = { mchid: MCHID, serialNo: MERCHANT_SERIAL, privateKey: f.privateKey };
  const keys = new WechatpayVerificationKeys({ publicKey: { id: PUBLIC_KEY_ID, key: f.publicKey } });
  const request = { method: "POST", canonicalUrl: V5A_SEND_COUPON.canonicalUrl, body: V5A_SEND_COUPON.body };

  // wechatpay-axios-plugin: its own building blocks (lib/rsa.js, lib/aes.js, lib/formatter.js), keys as KeyObjects.
  const Rsa = require("wechatpay-axios-plugin/lib/rsa.js");
  const { AesGcm } = require("wechatpay-axios-plugin/lib/aes.js");
  const Formatter = require("wechatpay-axios-plugin/lib/formatter.js");
  const axiosPrivateKey = Rsa.from(f.privateKeyPem, Rsa.KEY_TYPE_PRIVATE);
  const axiosPublicKey = Rsa.from(TEST_PUBLIC_KEY_PEM, Rsa.KEY_TYPE_PUBLIC);

  // wechatpay-node-v3: the Pay class (PEM buffers; verifySign looks the key up in its static certificate map).
  const Pay = require("wechatpay-node-v3");
  const pay = new Pay({
    appid: "wx233544546545989",
    mchid: MCHID,
    serial_no: MERCHANT_SERIAL,
    publicKey: Buffer.from(TEST_PUBLIC_KEY_PEM),
    privateKey: Buffer.from(f.privateKeyPem),
    key: APIV3_KEY,
  });
  Pay.certificates[PUBLIC_KEY_ID] = TEST_PUBLIC_KEY_PEM;

  const now = () => Math.floor(Date.now() / 1000);
  const tasks: [CryptoBenchRow["operation"], string, () => unknown][] = [
    [
      "sign",
      "wxcoupon",
      () => buildAuthorization(credentials, { ...request, timestamp: now(), nonce: generateNonce() }),
    ],
    [
      "sign",
      "wechatpay-axios-plugin",
      () => {
        const ts = Formatter.timestamp();
        const nonce = Formatter.nonce();
        const message = Formatter.request(request.method, request.canonicalUrl, ts, nonce, request.body);
        return Formatter.authorization(MCHID, nonce, Rsa.sign(message, axiosPrivateKey), ts, MERCHANT_SERIAL);
      },
    ],
    [
      "sign",
      "wechatpay-node-v3",
      () => {
        const ts = String(now());
        const nonce = generateNonce();
        return pay.getAuthorization(nonce, ts, pay.getSignature("POST", nonce, ts, request.canonicalUrl, request.body));
      },
    ],
    [
      "verify",
      "wxcoupon",
      () => {
        if (!verifyMessage(buildResponseMessage(f.timestamp, f.nonce, f.answer), f.signature, f.publicKey))
          throw new Error();
      },
    ],
    [
      "verify",
      "wechatpay-axios-plugin",
      () => {
        if (!Rsa.verify(Formatter.response(f.timestamp, f.nonce, f.answer), f.signature, axiosPublicKey))
          throw new Error();
      },
    ],
    [
      "verify",
      "wechatpay-node-v3",
      async () => {
        const ok = await pay.verifySign({
          timestamp: f.timestamp,
          nonce: f.nonce,
          body: f.answer,
          serial: PUBLIC_KEY_ID,
          signature: f.signature,
        });
        if (!ok) throw new Error("node-v3 verify failed");
      },
    ],
    ["verify-response", "wxcoupon", () => verifySignedMessage(readSignedMessage(f.headers, f.answer), keys, now())],
    ["decrypt", "wxcoupon", () => decryptAeadAesGcm({ key: APIV3_KEY, ...f.resource, ciphertext: f.ciphertext })],
    [
      "decrypt",
      "wechatpay-axios-plugin",
      () => AesGcm.decrypt(f.ciphertext, APIV3_KEY, f.resource.nonce, f.resource.associatedData),
    ],
    [
      "decrypt",
      "wechatpay-node-v3",
      () => pay.decipher_gcm(f.ciphertext, f.resource.associatedData, f.resource.nonce, APIV3_KEY),
    ],
  ];

  // Sanity: every library produces the same answer before anything is timed.
  const ours = buildAuthorization(credentials, {
    ...request,
    timestamp: V5A_SEND_COUPON.timestamp,
    nonce: V5A_SEND_COUPON.nonce,
  });
  if (ours !== formatAuthorization(credentials, V5A_SEND_COUPON, V5A_SEND_COUPON.signature))
    throw new Error("V5a mismatch");
  if (
    Rsa.sign(
      Formatter.request("POST", request.canonicalUrl, V5A_SEND_COUPON.timestamp, V5A_SEND_COUPON.nonce, request.body),
      axiosPrivateKey,
    ) !== V5A_SEND_COUPON.signature
  )
    throw new Error("axios-plugin V5a mismatch");
  if (
    JSON.stringify(pay.decipher_gcm(f.ciphertext, f.resource.associatedData, f.resource.nonce, APIV3_KEY)) !==
    f.plaintext
  )
    throw new Error("node-v3 decrypt mismatch");

  const samples = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs) });
    // Alternate the order too, so neither running first nor running after the others' garbage favours a library.
    const ordered = round % 2 === 0 ? tasks : [...tasks].reverse();
    for (const [operation, library, fn] of ordered) bench.add(`${operation}|${library}`, fn);
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result as { throughput?: { mean: number }; error?: unknown };
      if (result.error) throw result.error;
      samples.set(task.name, [...(samples.get(task.name) ?? []), result.throughput?.mean ?? 0]);
    }
  }
  const opsPerSecond = new Map([...samples].map(([name, values]) => [name, median(values)]));
  const rows = tasks.map(([operation, library]): CryptoBenchRow => {
    const value = opsPerSecond.get(`${operation}|${library}`) ?? 0;
    const wx = opsPerSecond.get(`${operation}|wxcoupon`) ?? 0;
    const rounds = samples.get(`${operation}|${library}`) ?? [];
    const spread = value > 0 ? (Math.max(...rounds) - Math.min(...rounds)) / value : 0;
    return { operation, library, opsPerSecond: value, wxcouponSpeedup: value > 0 ? wx / value : 0, spread };
  });
  const bundles = [
    await measureBundle("entries/sign-verify-entry.ts", BUNDLE_BUDGET_BYTES),
    await measureBundle("entries/client-entry.ts", undefined),
  ];
  return { node: process.version, timeMs, rounds, rows, bundles };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export function formatClientCryptoBench(result: ClientCryptoBenchResult): string {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const lines = [
    `client crypto (node ${result.node}, ${result.timeMs} ms per task, median of ${result.rounds} rounds)`,
    "",
    "operation       | library                 |      ops/s | wxcoupon ×",
    "----------------|-------------------------|------------|-----------",
  ];
  for (const row of result.rows) {
    lines.push(
      `${row.operation.padEnd(15)} | ${row.library.padEnd(23)} | ${fmt(row.opsPerSecond).padStart(10)} | ${row.wxcouponSpeedup.toFixed(2).padStart(9)}`,
    );
  }
  lines.push("", "bundle (esbuild: bundle, minify, esm, platform node)");
  for (const b of result.bundles) {
    const budget =
      b.budgetBytes === undefined
        ? ""
        : `  budget ${(b.budgetBytes / 1024).toFixed(0)} KB: ${b.withinBudget ? "ok" : "OVER"}`;
    lines.push(`  ${b.entry}: ${(b.bytes / 1024).toFixed(1)} KB (${(b.gzipBytes / 1024).toFixed(1)} KB gzip)${budget}`);
  }
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const index = process.argv.indexOf("--time-ms");
  const result = await runClientCryptoBench(index > 0 ? { timeMs: Number(process.argv[index + 1]) } : {});
  console.log(process.argv.includes("--json") ? JSON.stringify(result, null, 2) : formatClientCryptoBench(result));
}
