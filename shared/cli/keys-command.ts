import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, fchmodSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSelfSignedCertificate, randomCertificateSerial } from "../devkeys/self-signed-certificate.js";
import { type CliIo, CliUsageError, parseOptions, required } from "./cli-io.js";

export const KEYS_USAGE = `usage: wxcoupon keys --out DIR [--mchid ID] [--force] [--json]

Generates a merchant API key pair for local and test use: DIR/apiclient_key.pem (RSA-2048, PKCS#8, mode 0600)
and DIR/apiclient_cert.pem (self-signed, 40-hex serial). Prints the certificate serial (the Authorization
serial_no). Existing files are kept unless --force is given.
--json prints {"serial_no", "key_file", "cert_file"} (never the key itself).`;

export const KEY_FILE = "apiclient_key.pem";
export const CERT_FILE = "apiclient_cert.pem";

/** `wxcoupon keys`: a merchant key pair and certificate like the ones WeChat Pay's key tool produces. */
export function runKeysCommand(argv: string[], io: CliIo): number {
  const values = parseOptions(argv, {
    out: { type: "string" },
    mchid: { type: "string" },
    force: { type: "boolean" },
    json: { type: "boolean" },
  });
  const dir = required(values, "out");
  const keyPath = join(dir, KEY_FILE);
  const certPath = join(dir, CERT_FILE);
  if (!values.force && (existsSync(keyPath) || existsSync(certPath)))
    throw new CliUsageError(`${keyPath} or ${certPath} exists; pass --force to replace them`);
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const serialNumber = randomCertificateSerial();
  const certificate = createSelfSignedCertificate({
    privateKey,
    serialNumber,
    subject: {
      commonName: values.mchid ?? "wxcoupon test merchant",
      organization: "wxcoupon (local test key)",
      country: "CN",
    },
  });
  mkdirSync(dir, { recursive: true });
  writePrivateFile(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(certPath, certificate, { mode: 0o644 });
  if (values.json) {
    io.out(JSON.stringify({ serial_no: serialNumber, key_file: keyPath, cert_file: certPath }));
    return 0;
  }
  io.out(serialNumber);
  io.err(`wrote ${keyPath} (0600) and ${certPath}`);
  return 0;
}

/**
 * Writes `content` to `path` with mode 0600 whatever was there before. `mode` in open/writeFile applies "only if the
 * file was created" (https://nodejs.org/api/fs.html#fsopenpath-flags-mode-callback), so overwriting an existing 0644
 * key in place would keep 0644. Instead: a new file beside it (so the rename stays on one file system), fchmod'ed to
 * 0600 before the key is written (the umask cannot narrow or widen it), then renamed over the old one. The key is never
 * readable under another mode, and an interrupted run leaves the old file, not half a key.
 */
function writePrivateFile(path: string, content: string | Buffer): void {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temporary, "wx", 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      writeFileSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
