import { decryptAeadAesGcm } from "../wechatpay/crypto/aead-aes-gcm.js";
import { DecryptionError } from "../wechatpay/errors.js";
import { type CliIo, CliUsageError, parseOptions, readOptionFile, required } from "./cli-io.js";

export const DECRYPT_USAGE = `usage: wxcoupon decrypt (--apiv3-key KEY | --apiv3-key-file FILE) --nonce N --associated-data AD
                       --ciphertext BASE64 [--json]

Opens an AEAD_AES_256_GCM resource (notification resource, /v3/certificates item) and prints the plaintext.
--associated-data may be empty (--associated-data ""). A wrong key or altered data exits 1.
Prefer --apiv3-key-file: a key on the command line is visible to other local users.
--json prints {"plaintext": "..."}, and "resource" too when the plaintext is JSON (as WeChat's resources are).`;

/** `wxcoupon decrypt`: AEAD_AES_256_GCM with the APIv3 key. */
export function runDecryptCommand(argv: string[], io: CliIo): number {
  const values = parseOptions(argv, {
    "apiv3-key": { type: "string" },
    "apiv3-key-file": { type: "string" },
    nonce: { type: "string" },
    "associated-data": { type: "string" },
    ciphertext: { type: "string" },
    json: { type: "boolean" },
  });
  const key = values["apiv3-key-file"]
    ? readOptionFile("apiv3-key-file", values["apiv3-key-file"], "utf8").trim()
    : values["apiv3-key"];
  if (!key) throw new CliUsageError("--apiv3-key or --apiv3-key-file is required");
  const associatedData = values["associated-data"];
  if (associatedData === undefined) throw new CliUsageError('--associated-data is required (use "" for none)');
  try {
    const plaintext = decryptAeadAesGcm({
      key,
      nonce: required(values, "nonce"),
      associatedData,
      ciphertext: required(values, "ciphertext"),
    });
    const text = plaintext.toString("utf8");
    io.out(values.json ? JSON.stringify({ plaintext: text, ...parsedResource(text) }) : text);
    return 0;
  } catch (error) {
    if (!(error instanceof DecryptionError)) throw error;
    // The message never contains the key or any plaintext.
    io.err(`error: cannot decrypt: ${error.message}`);
    return 1;
  }
}

/** A notification's resource is JSON: parsed, a script need not decode a string inside the JSON it reads. */
function parsedResource(text: string): { resource?: unknown } {
  try {
    const resource: unknown = JSON.parse(text);
    return typeof resource === "object" && resource !== null ? { resource } : {};
  } catch {
    return {};
  }
}
