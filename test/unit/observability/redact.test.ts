import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { logger } from "#shared/observability/logger.js";
import { isSensitiveKey, REDACTED, redactingReplacer, scrubPem } from "#shared/observability/redact.js";

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
const PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const PEM_BODY_LINE = PEM.split("\n")[1]!;
const APIV3_KEY = "Wxc0up0nApiV3KeyForTests12345678";

/** Everything the logger writes (it owns a Console on process.stdout/stderr), as text. */
function captureOutput(): () => string {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  return () => chunks.join("");
}

// The test environment may set POWERTOOLS_LOG_LEVEL=WARN: these tests need INFO lines.
const initialLevel = logger.getLevelName();
beforeEach(() => {
  logger.setLogLevel("INFO");
});
afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel(initialLevel);
});

describe("the service logger", () => {
  it("writes neither a PEM nor the APIv3 key, wherever they appear in the record", () => {
    const output = captureOutput();
    logger.info(`loaded key ${PEM}`, {
      apiv3_key: APIV3_KEY,
      secret: { mchid: "1900000001", merchant_private_key: PEM, apiv3Key: APIV3_KEY },
      merchantPrivateKeyPem: PEM,
      headers: { Authorization: 'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",signature="abc"' },
      notification: { id: "EV-1", resource: { ciphertext: "c2VjcmV0", nonce: "n" } },
      nested: [{ note: `copied ${PEM}` }],
      v3Key: APIV3_KEY,
    });
    logger.error("failed", new Error(`could not parse ${PEM}`));
    const text = output();

    expect(text).not.toContain("BEGIN PRIVATE KEY");
    expect(text).not.toContain(PEM_BODY_LINE);
    expect(text).not.toContain(APIV3_KEY);
    expect(text).not.toContain("c2VjcmV0");
    expect(text).not.toContain('signature="abc"');
    // The record itself survives: only the secrets are replaced.
    const [info, error] = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(info).toMatchObject({
      level: "INFO",
      message: "loaded key [REDACTED PEM]\n",
      apiv3_key: REDACTED,
      secret: REDACTED,
      merchantPrivateKeyPem: REDACTED,
      headers: { Authorization: REDACTED },
      notification: { id: "EV-1", resource: REDACTED },
      v3Key: REDACTED,
    });
    expect(error).toMatchObject({ level: "ERROR", error: { message: "could not parse [REDACTED PEM]\n" } });
  });

  it("leaves ordinary fields alone", () => {
    const output = captureOutput();
    logger.info("sent", { stock_id: "9856000", out_request_no: "r-00000000000000000000000000000001", count: 3 });
    expect(JSON.parse(output())).toMatchObject({
      stock_id: "9856000",
      out_request_no: "r-00000000000000000000000000000001",
      count: 3,
    });
  });
});

describe("redactingReplacer", () => {
  it("recognises key names regardless of case, _ and -", () => {
    for (const key of [
      "apiv3_key",
      "apiv3Key",
      "APIV3-KEY",
      "merchant_private_key",
      "privateKey",
      "authorization",
      "Proxy-Authorization",
      "ciphertext",
      "resource",
      "SecretString",
    ])
      expect(isSensitiveKey(key), key).toBe(true);
    for (const key of ["stock_id", "resource_type", "openid", "message", "keyId", "requestId"])
      expect(isSensitiveKey(key), key).toBe(false);
  });

  it("redacts 32-character key-looking values under key-named fields only", () => {
    expect(redactingReplacer("mch_key", APIV3_KEY)).toBe(REDACTED);
    expect(redactingReplacer("out_request_no", APIV3_KEY)).toBe(APIV3_KEY);
    expect(redactingReplacer("mch_key", "short")).toBe("short");
  });

  it("scrubs PEM blocks, including a truncated one, and keeps the surrounding text", () => {
    expect(scrubPem(`a ${PEM} b`)).toBe("a [REDACTED PEM]\n b");
    expect(scrubPem("x -----BEGIN RSA PRIVATE KEY-----\nMIIEow")).toBe("x [REDACTED PEM]");
    expect(scrubPem("no pem here")).toBe("no pem here");
  });

  it("leaves the root and non-string values untouched", () => {
    const root = { a: 1 };
    expect(redactingReplacer("", root)).toBe(root);
    expect(redactingReplacer("count", 3)).toBe(3);
    expect(redactingReplacer("resource", undefined)).toBeUndefined();
  });
});
