import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random nonce of `length` characters from [0-9A-Za-z] (WeChat's SDKs use 32). */
export function generateNonce(length = 32): string {
  // 62 does not divide 256: draw bytes below 248 (= 4 × 62) so every character is equally likely.
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}
