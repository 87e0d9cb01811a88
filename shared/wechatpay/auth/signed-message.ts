import type { KeyObject } from "node:crypto";
import { buildResponseMessage } from "../crypto/messages.js";
import { verifyMessage } from "../crypto/rsa-sha256.js";
import { SignatureVerificationError } from "../errors.js";
import { type HeaderSource, readHeader } from "./headers.js";
import type { VerificationKeySource } from "./wechatpay-verifier.js";

/** WeChat rejects, and so do we, a signed message whose timestamp is 300 s or more away from our clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
/** WeChat sends deliberately broken signatures with this prefix to check that merchants verify (probe traffic). */
export const SIGNATURE_PROBE_PREFIX = "WECHATPAY/SIGNTEST/";

export interface SignedMessage {
  timestamp: string;
  nonce: string;
  signature: string;
  serial: string;
  requestId: string | undefined;
  /** Raw body exactly as received. */
  body: string;
}

/** Reads the Wechatpay-* headers of a response or notification. */
export function readSignedMessage(headers: HeaderSource, body: string): SignedMessage {
  const required = (name: string): string => {
    const value = readHeader(headers, name);
    if (!value) {
      throw new SignatureVerificationError("MISSING_HEADER", `${name} header is missing`, {
        requestId: readHeader(headers, "Request-ID"),
      });
    }
    return value;
  };
  return {
    timestamp: required("Wechatpay-Timestamp"),
    nonce: required("Wechatpay-Nonce"),
    signature: required("Wechatpay-Signature"),
    serial: required("Wechatpay-Serial"),
    requestId: readHeader(headers, "Request-ID"),
    body,
  };
}

/** Checks everything that needs no key: probe prefix and timestamp window. */
export function checkSignedMessageEnvelope(message: SignedMessage, nowSeconds: number): void {
  const details = { serial: message.serial, requestId: message.requestId };
  if (message.signature.startsWith(SIGNATURE_PROBE_PREFIX)) {
    throw new SignatureVerificationError(
      "SIGNATURE_PROBE",
      "signature probe from WeChat Pay: rejected as invalid",
      details,
    );
  }
  if (!/^\d{1,12}$/.test(message.timestamp)) {
    throw new SignatureVerificationError("BAD_TIMESTAMP", "Wechatpay-Timestamp is not a unix time in seconds", details);
  }
  if (Math.abs(nowSeconds - Number(message.timestamp)) >= MAX_CLOCK_SKEW_SECONDS) {
    throw new SignatureVerificationError(
      "TIMESTAMP_OUT_OF_WINDOW",
      `Wechatpay-Timestamp ${message.timestamp} is ${MAX_CLOCK_SKEW_SECONDS} s or more from now (${nowSeconds}): replayed, or a clock is wrong`,
      details,
    );
  }
}

/** Verifies the signature of `message` with an already resolved key. */
export function checkSignature(message: SignedMessage, key: KeyObject): void {
  const text = buildResponseMessage(message.timestamp, message.nonce, message.body);
  if (!verifyMessage(text, message.signature, key)) {
    throw new SignatureVerificationError(
      "SIGNATURE_MISMATCH",
      `Wechatpay-Signature does not match (serial ${message.serial}); was the body altered, or parsed and re-serialised before verifying?`,
      { serial: message.serial, requestId: message.requestId },
    );
  }
}

/**
 * Verifies a WeChat Pay response or notification over its raw body: probe prefix, ±300 s window, key by
 * Wechatpay-Serial (public key or platform certificate, refreshed once when unknown), RSA-SHA256 signature.
 */
export async function verifySignedMessage(
  message: SignedMessage,
  keys: VerificationKeySource & { resolve?(serial: string): Promise<KeyObject> },
  nowSeconds: number,
): Promise<void> {
  checkSignedMessageEnvelope(message, nowSeconds);
  let key = keys.keyFor(message.serial);
  if (!key && keys.resolve) key = await keys.resolve(message.serial);
  if (!key) {
    throw new SignatureVerificationError(
      "UNKNOWN_SERIAL",
      `no WeChat Pay key or certificate for serial ${message.serial}`,
      {
        serial: message.serial,
        requestId: message.requestId,
      },
    );
  }
  checkSignature(message, key);
}
