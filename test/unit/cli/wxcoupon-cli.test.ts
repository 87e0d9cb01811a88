import { execFile } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSimulatorSubcommand } from "#shared/cli/simulator-command.js";
import {
  TEST_CERTIFICATE_D7CE_PEM,
  TEST_PUBLIC_KEY_PEM,
  testPrivateKeyPem,
  V2_GO_AES128,
  V2_JAVA_AES256,
  V5A_SEND_COUPON,
  V5B_LIST_STOCKS,
  V5C_COUPON_USE,
  v5cEnvelopeBody,
} from "../../fixtures/vectors/public-vectors.js";

const ROOT = join(import.meta.dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "wxcoupon-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const keyFile = file("merchant.pem", testPrivateKeyPem());
const publicKeyFile = file("wechatpay-public.pem", TEST_PUBLIC_KEY_PEM);
const certFile = file("platform.pem", TEST_CERTIFICATE_D7CE_PEM);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function wxcoupon(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/wxcoupon.js", ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const signArgs = (v: typeof V5A_SEND_COUPON | typeof V5B_LIST_STOCKS) => [
  "sign",
  "--key",
  keyFile,
  "--mchid",
  "8956000",
  "--serial",
  "BE6DCDA7A5931FA0",
  "--method",
  v.method,
  "--url",
  v.canonicalUrl,
  "--timestamp",
  String(v.timestamp),
  "--nonce",
  v.nonce,
];

// Each case spawns a node process: run them side by side.
describe.concurrent("wxcoupon sign", () => {
  it("prints the Authorization header of vector V5a", async () => {
    const run = await wxcoupon(...signArgs(V5A_SEND_COUPON), "--body-file", file("v5a.json", V5A_SEND_COUPON.body));
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      `WECHATPAY2-SHA256-RSA2048 mchid="8956000",nonce_str="${V5A_SEND_COUPON.nonce}",timestamp="1554208460",` +
        `serial_no="BE6DCDA7A5931FA0",signature="${V5A_SEND_COUPON.signature}"\n`,
    );
  });

  it("signs a GET with a query and no body (V5b)", async () => {
    const run = await wxcoupon(...signArgs(V5B_LIST_STOCKS));
    expect(run.stdout).toContain(`signature="${V5B_LIST_STOCKS.signature}"`);
  });
});

describe.concurrent("wxcoupon verify", () => {
  const v5c = ["--timestamp", "1716256805", "--nonce", V5C_COUPON_USE.headers["Wechatpay-Nonce"]];
  const body = file("v5c.json", v5cEnvelopeBody());

  it.each([
    ["--public-key", publicKeyFile],
    ["--cert", certFile],
  ])("accepts the V5c notification signature with %s", async (option, path) => {
    const run = await wxcoupon(
      "verify",
      option,
      path,
      ...v5c,
      "--signature",
      V5C_COUPON_USE.headers["Wechatpay-Signature"],
      "--body-file",
      body,
    );
    expect(run).toMatchObject({ code: 0, stdout: "valid\n" });
  });

  it("reports a mismatch when the body is left out (the message then ends 'nonce\\n\\n')", async () => {
    const run = await wxcoupon(
      "verify",
      "--public-key",
      publicKeyFile,
      ...v5c,
      "--signature",
      V5C_COUPON_USE.headers["Wechatpay-Signature"],
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^invalid: SIGNATURE_MISMATCH/);
  });

  it("says why a tampered body is invalid and exits 1", async () => {
    const tampered = file("tampered.json", v5cEnvelopeBody().replace("用券成功", "用券失败"));
    const run = await wxcoupon(
      "verify",
      "--public-key",
      publicKeyFile,
      ...v5c,
      "--signature",
      V5C_COUPON_USE.headers["Wechatpay-Signature"],
      "--body-file",
      tampered,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^invalid: SIGNATURE_MISMATCH: .*altered body/);
  });

  it("rejects a probe signature (V5d) and, with --now, a stale timestamp", async () => {
    const probe = await wxcoupon(
      "verify",
      "--cert",
      certFile,
      ...v5c,
      "--signature",
      "WECHATPAY/SIGNTEST/x",
      "--body-file",
      body,
    );
    expect(probe.code).toBe(1);
    expect(probe.stdout).toMatch(/SIGNATURE_PROBE/);
    const stale = await wxcoupon(
      "verify",
      "--cert",
      certFile,
      ...v5c,
      "--signature",
      V5C_COUPON_USE.headers["Wechatpay-Signature"],
      "--body-file",
      body,
      "--now",
      String(1716256805 + 300),
    );
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/TIMESTAMP_OUT_OF_WINDOW/);
  });
});

describe.concurrent("wxcoupon decrypt", () => {
  it.each([V2_JAVA_AES256, V2_GO_AES128])("prints the plaintext of V2 ($plaintext)", async (v) => {
    const run = await wxcoupon(
      "decrypt",
      "--apiv3-key",
      v.key,
      "--nonce",
      v.nonce,
      "--associated-data",
      v.associatedData,
      "--ciphertext",
      v.ciphertext,
    );
    expect(run).toMatchObject({ code: 0, stdout: `${v.plaintext}\n` });
  });

  it("exits 1 with a clear message for a wrong key, without printing the key", async () => {
    const wrong = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gx";
    const run = await wxcoupon(
      "decrypt",
      "--apiv3-key",
      wrong,
      "--nonce",
      V2_JAVA_AES256.nonce,
      "--associated-data",
      V2_JAVA_AES256.associatedData,
      "--ciphertext",
      V2_JAVA_AES256.ciphertext,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/cannot decrypt: authentication failed: wrong APIv3 key/);
    expect(run.stderr).not.toContain(wrong);
  });

  it("exits 1 for a tampered tag, reading the key from a file", async () => {
    const sealed = Buffer.from(V2_JAVA_AES256.ciphertext, "base64");
    sealed[sealed.length - 1]! ^= 1;
    const run = await wxcoupon(
      "decrypt",
      "--apiv3-key-file",
      file("apiv3.key", `${V2_JAVA_AES256.key}\n`),
      "--nonce",
      V2_JAVA_AES256.nonce,
      "--associated-data",
      V2_JAVA_AES256.associatedData,
      "--ciphertext",
      sealed.toString("base64"),
    );
    expect(run.code).toBe(1);
  });
});

describe.concurrent("wxcoupon keys", () => {
  it("writes a 0600 PKCS#8 key and a certificate whose serial it prints and whose key signs", async () => {
    const out = join(dir, "keys");
    const run = await wxcoupon("keys", "--out", out);
    expect(run.code).toBe(0);
    const serial = run.stdout.trim();
    expect(serial).toMatch(/^[0-9A-F]{40}$/);
    const keyPem = readFileSync(join(out, "apiclient_key.pem"), "utf8");
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(join(out, "apiclient_key.pem")).mode & 0o777).toBe(0o600);
    const certificate = new X509Certificate(readFileSync(join(out, "apiclient_cert.pem")));
    expect(certificate.serialNumber.replace(/:/g, "").toUpperCase()).toBe(serial);
    const privateKey = createPrivateKey(keyPem);
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(certificate.checkPrivateKey(privateKey)).toBe(true);
    const signature = sign("sha256", Buffer.from("source"), privateKey);
    expect(verify("sha256", Buffer.from("source"), certificate.publicKey, signature)).toBe(true);
    expect(createPublicKey(privateKey).export({ type: "spki", format: "pem" })).toBe(
      certificate.publicKey.export({ type: "spki", format: "pem" }),
    );
    const again = await wxcoupon("keys", "--out", out);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--force/);
  });

  it("--force leaves a new key at 0600 over an old key file that was 0644", async () => {
    const out = join(dir, "keys-force");
    const keyPath = join(out, "apiclient_key.pem");
    mkdirSync(out);
    writeFileSync(keyPath, "old key\n", { mode: 0o644 });
    chmodSync(keyPath, 0o644); // whatever the umask made of it
    expect(statSync(keyPath).mode & 0o777).toBe(0o644);
    const run = await wxcoupon("keys", "--out", out, "--force");
    expect(run.code).toBe(0);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyPath, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readdirSync(out).sort()).toEqual(["apiclient_cert.pem", "apiclient_key.pem"]);
  });
});

describe.concurrent("--json on every command that prints data", () => {
  it("sign: the header and what was signed", async () => {
    const run = await wxcoupon(
      ...signArgs(V5A_SEND_COUPON),
      "--body-file",
      file("v5a-json.json", V5A_SEND_COUPON.body),
      "--json",
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      authorization: expect.stringContaining(`signature="${V5A_SEND_COUPON.signature}"`),
      method: V5A_SEND_COUPON.method,
      canonical_url: V5A_SEND_COUPON.canonicalUrl,
      timestamp: V5A_SEND_COUPON.timestamp,
      nonce: V5A_SEND_COUPON.nonce,
    });
  });

  it("verify: valid, and invalid with the reason (exit 1)", async () => {
    const args = [
      "verify",
      "--public-key",
      publicKeyFile,
      "--timestamp",
      "1716256805",
      "--nonce",
      V5C_COUPON_USE.headers["Wechatpay-Nonce"],
      "--signature",
      V5C_COUPON_USE.headers["Wechatpay-Signature"],
      "--json",
    ];
    const valid = await wxcoupon(...args, "--body-file", file("v5c-json.json", v5cEnvelopeBody()));
    expect(valid.code).toBe(0);
    expect(JSON.parse(valid.stdout)).toEqual({ valid: true });
    const invalid = await wxcoupon(...args);
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toMatchObject({ valid: false, reason: "SIGNATURE_MISMATCH" });
  });

  it("decrypt: the plaintext, parsed too when it is JSON", async () => {
    const v = V2_JAVA_AES256;
    const run = await wxcoupon(
      "decrypt",
      ...["--apiv3-key", v.key, "--nonce", v.nonce, "--associated-data", v.associatedData],
      ...["--ciphertext", v.ciphertext, "--json"],
    );
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed.plaintext).toBe(v.plaintext);
    expect(run.stdout).not.toContain(v.key);
  });

  it("keys: the serial and the files, never the key", async () => {
    const out = join(dir, "keys-json");
    const run = await wxcoupon("keys", "--out", out, "--json");
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).toEqual({
      serial_no: expect.stringMatching(/^[0-9A-F]{40}$/),
      key_file: join(out, "apiclient_key.pem"),
      cert_file: join(out, "apiclient_cert.pem"),
    });
    expect(run.stdout).not.toContain("PRIVATE KEY");
  });

  it("version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    for (const arg of ["version", "--version"]) {
      const run = await wxcoupon(arg, "--json");
      expect(JSON.parse(run.stdout)).toEqual({ wxcoupon: version, node: process.version });
    }
  });

  it("help lists --json and the exit codes", async () => {
    const run = await wxcoupon("help");
    expect(run.stdout).toContain("--json");
    expect(run.stdout).toMatch(
      /3 some\s+recipients failed, 4 no progress for --stall-timeout; campaign send: 5 the service lost/,
    );
    const campaign = await wxcoupon("help", "campaign");
    for (const option of [
      "--column",
      "--allow-failures",
      "--stall-timeout",
      "--restart",
      "--json",
      "--codes",
      "--wait",
    ])
      expect(campaign.stdout).toContain(option);
    for (const sub of ["list", "pause|resume|cancel", "retry", "failures"])
      expect(campaign.stdout).toContain(`wxcoupon campaign ${sub} `);
  });
});

describe.concurrent("wxcoupon usage", () => {
  it.each([
    [["sign", "--mchid", "1"], /--\w+ is required/],
    [["sign", "--bogus"], /Unknown option '--bogus'/],
    [["verify", "--timestamp", "1"], /exactly one of --public-key or --cert/],
    [["decrypt", "--apiv3-key", "k"], /--associated-data is required/],
    [
      [
        "sign",
        ...signArgs(V5B_LIST_STOCKS)
          .slice(1, 3)
          .map((a) => (a === keyFile ? join(dir, "missing.pem") : a)),
        "--mchid",
        "1",
        "--serial",
        "A",
        "--method",
        "GET",
        "--url",
        "/",
      ],
      /cannot read --key/,
    ],
    [["frobnicate"], /unknown command "frobnicate"/],
    [[], /usage: wxcoupon <command>/],
  ])("%j prints usage and exits 2 without a stack trace", async (args, message) => {
    const run = await wxcoupon(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/usage: wxcoupon/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([["help"], ["--help"], ["sign", "--help"], ["help", "verify"]])(
    "%j prints help and exits 0",
    async (...args) => {
      const run = await wxcoupon(...args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/usage: wxcoupon/);
    },
  );

  it.each([["--version"], ["version"], ["-v"]])(
    "%j prints the package version and the Node.js it runs on",
    async (arg) => {
      const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
      const run = await wxcoupon(arg);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toBe(`wxcoupon ${version} (Node.js ${process.version})\n`);
    },
  );

  it("runs through `npx wxcoupon` on the Node.js of package.json devDependencies.node", async () => {
    const { devDependencies } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    // npx puts node_modules/.bin (with the `node` package's binary) first on PATH for the bin's `#!/usr/bin/env node`.
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile("npx", ["wxcoupon", "--version"], { cwd: ROOT }, (error, out) => (error ? reject(error) : resolve(out)));
    });
    expect(stdout).toContain(`(Node.js v${devDependencies.node})`);
  });

  it("delegates `simulator --help` to the simulator's own command", async () => {
    const run = await wxcoupon("simulator", "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/usage: wxcoupon simulator/);
  });

  it("explains when the simulator is missing from the checkout", async () => {
    const lines: string[] = [];
    const code = await runSimulatorSubcommand(
      [],
      { out: (l) => lines.push(l), err: (l) => lines.push(l) },
      "#local/simulator/does-not-exist.js",
    );
    expect(code).toBe(1);
    expect(lines.join("\n")).toMatch(/simulator is not available/);
  });
});
