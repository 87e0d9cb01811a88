import {
  checkSignature,
  checkSignedMessageEnvelope,
  SIGNATURE_PROBE_PREFIX,
  type SignedMessage,
} from "../wechatpay/auth/signed-message.js";
import { loadPublicKey } from "../wechatpay/crypto/keys.js";
import { SignatureVerificationError } from "../wechatpay/errors.js";
import { type CliIo, CliUsageError, parseOptions, readOptionFile, required, unixSeconds } from "./cli-io.js";

export const VERIFY_USAGE = `usage: wxcoupon verify (--public-key FILE | --cert FILE) --timestamp T --nonce N --signature SIG
                      [--body-file FILE] [--now UNIX_SECONDS] [--json]

Checks a WeChat Pay response or notification signature over "timestamp\\nnonce\\nbody\\n" (body: the exact
bytes of --body-file, empty when absent). Exits 0 when valid, 1 when not, saying why. The ±300 s clock
window is checked only when --now is given (this is a debugging tool for captured messages).
--json prints {"valid": true} or {"valid": false, "reason", "message"} (same exit codes).`;

/** `wxcoupon verify`: is this Wechatpay-Signature valid for this body? */
export function runVerifyCommand(argv: string[], io: CliIo): number {
  const values = parseOptions(argv, {
    "public-key": { type: "string" },
    cert: { type: "string" },
    timestamp: { type: "string" },
    nonce: { type: "string" },
    signature: { type: "string" },
    "body-file": { type: "string" },
    now: { type: "string" },
    json: { type: "boolean" },
  });
  const keyOption = values["public-key"] ? "public-key" : values.cert ? "cert" : undefined;
  if (!keyOption || (values["public-key"] && values.cert))
    throw new CliUsageError("give exactly one of --public-key or --cert");
  const pem = readOptionFile(keyOption, values[keyOption]!, "utf8");
  let key: ReturnType<typeof loadPublicKey>;
  try {
    key = loadPublicKey(pem);
  } catch {
    throw new CliUsageError(`--${keyOption} is not a public key or certificate PEM`);
  }
  const message: SignedMessage = {
    timestamp: required(values, "timestamp"),
    nonce: required(values, "nonce"),
    signature: required(values, "signature"),
    serial: keyOption,
    requestId: undefined,
    body: values["body-file"] ? readOptionFile("body-file", values["body-file"], "utf8") : "",
  };
  try {
    if (values.now) checkSignedMessageEnvelope(message, unixSeconds("now", values.now));
    else if (message.signature.startsWith(SIGNATURE_PROBE_PREFIX)) checkSignedMessageEnvelope(message, Number.NaN);
    checkSignature(message, key);
  } catch (error) {
    if (!(error instanceof SignatureVerificationError)) throw error;
    io.out(
      values.json
        ? JSON.stringify({ valid: false, reason: error.reason, message: explain(error) })
        : `invalid: ${error.reason}: ${explain(error)}`,
    );
    return 1;
  }
  io.out(values.json ? JSON.stringify({ valid: true }) : "valid");
  return 0;
}

function explain(error: SignatureVerificationError): string {
  if (error.reason === "SIGNATURE_MISMATCH") {
    return "the signature does not match this key, timestamp, nonce and body (altered body? body re-serialised? wrong key?)";
  }
  return error.message;
}
