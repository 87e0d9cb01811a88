import { createCipheriv, createDecipheriv } from "node:crypto";

const TAG_LENGTH = 16;

// Production APIv3 keys are 32 bytes (AES-256); some public SDK vectors use 16-byte keys (AES-128).
function algorithmFor(key: Buffer): "aes-256-gcm" | "aes-128-gcm" {
  if (key.length === 32) return "aes-256-gcm";
  if (key.length === 16) return "aes-128-gcm";
  throw new RangeError(`AEAD key must be 16 or 32 bytes, got ${key.length}`);
}

/** AEAD_AES_256_GCM as WeChat uses it: base64(ciphertext ‖ 16-byte tag); nonce and AAD are UTF-8 strings. */
export function encryptAeadAesGcm(key: Buffer, nonce: string, associatedData: string, plaintext: string): string {
  const cipher = createCipheriv(algorithmFor(key), key, Buffer.from(nonce, "utf8"), { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]).toString("base64");
}

/** Inverse of {@link encryptAeadAesGcm}; throws when the tag does not authenticate. */
export function decryptAeadAesGcm(key: Buffer, nonce: string, associatedData: string, ciphertext: string): string {
  const raw = Buffer.from(ciphertext, "base64");
  if (raw.length < TAG_LENGTH) throw new RangeError("ciphertext shorter than the GCM tag");
  const decipher = createDecipheriv(algorithmFor(key), key, Buffer.from(nonce, "utf8"), {
    authTagLength: TAG_LENGTH,
  });
  decipher.setAAD(Buffer.from(associatedData, "utf8"));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_LENGTH));
  return Buffer.concat([decipher.update(raw.subarray(0, raw.length - TAG_LENGTH)), decipher.final()]).toString("utf8");
}
