import { type CipherGCMTypes, createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from "node:crypto";
import { DecryptionError } from "../errors.js";

const TAG_LENGTH = 16;
const NONCE_LENGTH = 12;

export interface AeadInput {
  /** The APIv3 key as its UTF-8 bytes: 32 bytes in production (AES-256). 16-byte SDK test keys select AES-128. */
  key: string | Buffer;
  nonce: string;
  associatedData: string;
}

function cipherFor(key: Buffer): CipherGCMTypes {
  if (key.length === 32) return "aes-256-gcm";
  if (key.length === 16) return "aes-128-gcm";
  throw new DecryptionError(`the APIv3 key must be 32 bytes, got ${key.length}`);
}

function keyBytes(key: string | Buffer): Buffer {
  return typeof key === "string" ? Buffer.from(key, "utf8") : key;
}

/**
 * The APIv3 key as a KeyObject, made once per key: Node.js 24 copies and checks a Buffer key on every
 * createDecipheriv, which made decryption about four times slower than with a KeyObject (a one-entry cache: a
 * merchant has one APIv3 key).
 */
let lastKey: { source: string | Buffer; key: KeyObject; algorithm: CipherGCMTypes } | undefined;
function secretKey(source: string | Buffer): { key: KeyObject; algorithm: CipherGCMTypes } {
  if (
    lastKey &&
    (lastKey.source === source ||
      (Buffer.isBuffer(source) && Buffer.isBuffer(lastKey.source) && source.equals(lastKey.source)))
  ) {
    return lastKey;
  }
  const bytes = keyBytes(source);
  const algorithm = cipherFor(bytes);
  lastKey = { source: Buffer.isBuffer(source) ? Buffer.from(source) : source, key: createSecretKey(bytes), algorithm };
  return lastKey;
}

/**
 * Opens an AEAD_AES_256_GCM resource: `ciphertext` is base64(ct ‖ 16-byte tag). The tag is always checked;
 * any failure is a DecryptionError that names no secret.
 */
export function decryptAeadAesGcm(input: AeadInput & { ciphertext: string }): Buffer {
  const { key, algorithm } = secretKey(input.key);
  const nonce = Buffer.from(input.nonce, "utf8");
  if (nonce.length !== NONCE_LENGTH)
    throw new DecryptionError(`nonce must be ${NONCE_LENGTH} bytes, got ${nonce.length}`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(input.ciphertext)) throw new DecryptionError("ciphertext is not base64");
  const sealed = Buffer.from(input.ciphertext, "base64");
  if (sealed.length < TAG_LENGTH) throw new DecryptionError("ciphertext is shorter than the 16-byte tag");
  try {
    const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(Buffer.from(input.associatedData, "utf8"));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH)), decipher.final()]);
  } catch (cause) {
    throw new DecryptionError(
      "authentication failed: wrong APIv3 key, or tampered ciphertext, nonce or associated data",
      {
        cause,
      },
    );
  }
}

/** The inverse of decryptAeadAesGcm (for tests and tools): returns base64(ct ‖ tag). */
export function encryptAeadAesGcm(input: AeadInput & { plaintext: string | Buffer }): string {
  const key = keyBytes(input.key);
  const cipher = createCipheriv(cipherFor(key), key, Buffer.from(input.nonce, "utf8"), { authTagLength: TAG_LENGTH });
  cipher.setAAD(Buffer.from(input.associatedData, "utf8"));
  const body = Buffer.concat([cipher.update(input.plaintext), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]).toString("base64");
}
