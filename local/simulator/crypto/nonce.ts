import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Random string over [0-9A-Za-z] (WeChat nonces are 32 characters; AEAD nonces 12). */
export function randomNonce(length = 32): string {
  const bytes = randomBytes(length);
  let out = "";
  // 62 does not divide 256; the slight bias is irrelevant for nonces.
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

/** Upper-case hex request id, like WeChat's `Request-ID` header. */
export function randomRequestId(): string {
  return randomBytes(16).toString("hex").toUpperCase();
}
