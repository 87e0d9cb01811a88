import { type KeyObject, sign, verify } from "node:crypto";

/**
 * SHA256withRSA (PKCS#1 v1.5) signature, base64. Uses the callback form of `crypto.sign` so the private-key
 * operation runs on the libuv threadpool and does not block the event loop at 1,000 responses/s.
 */
export function signAsync(message: string | Buffer, privateKey: KeyObject): Promise<string> {
  const data = typeof message === "string" ? Buffer.from(message, "utf8") : message;
  return new Promise((resolve, reject) => {
    sign("sha256", data, privateKey, (error, signature) => {
      if (error) reject(error);
      else resolve(signature.toString("base64"));
    });
  });
}

/** Verifies a base64 SHA256withRSA signature; false (never a throw) for malformed input. */
export function verifySignature(message: string | Buffer, signatureBase64: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64)) return false;
  try {
    const data = typeof message === "string" ? Buffer.from(message, "utf8") : message;
    return verify("sha256", data, publicKey, Buffer.from(signatureBase64, "base64"));
  } catch {
    return false;
  }
}
