import { type KeyObject, sign, verify } from "node:crypto";

/** Base64 RSASSA-PKCS1-v1_5 / SHA-256 signature of a UTF-8 message (WECHATPAY2-SHA256-RSA2048). */
export function signMessage(message: string, privateKey: KeyObject): string {
  return sign("sha256", Buffer.from(message, "utf8"), privateKey).toString("base64");
}

/** As signMessage, computed on libuv's thread pool so a busy process keeps its event loop free. */
export function signMessageAsync(message: string, privateKey: KeyObject): Promise<string> {
  return new Promise((resolve, reject) => {
    sign("sha256", Buffer.from(message, "utf8"), privateKey, (error, signature) => {
      if (error) reject(error);
      else resolve(signature.toString("base64"));
    });
  });
}

/** True when `signatureBase64` is a valid signature of `message` under `publicKey`. Malformed input is false, not a throw. */
export function verifyMessage(message: string, signatureBase64: string, publicKey: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureBase64)) return false;
  try {
    return verify("sha256", Buffer.from(message, "utf8"), publicKey, Buffer.from(signatureBase64, "base64"));
  } catch {
    return false;
  }
}
