import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** CSPRNG bytes drawn 4 KiB at a time (as crypto.randomUUID caches its entropy): one syscall per ~120 nonces. */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

function nextByte(): number {
  if (offset >= pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  return pool[offset++]!;
}

/** A random nonce of `length` characters from [0-9A-Za-z] (WeChat's SDKs use 32). */
export function generateNonce(length = 32): string {
  // 62 does not divide 256: draw bytes below 248 (= 4 × 62) so every character is equally likely.
  let out = "";
  while (out.length < length) {
    const byte = nextByte();
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}
