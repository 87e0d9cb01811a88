import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { WechatPayError } from "../errors.js";

/** Parses a merchant private key (PKCS#8 or PKCS#1 PEM) once into a KeyObject. */
export function loadPrivateKey(pem: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "rsa") throw new Error(`expected an RSA key, got ${key.asymmetricKeyType}`);
    return key;
  } catch (cause) {
    throw new WechatPayError("INVALID_KEY", "the merchant private key is not a readable RSA PEM key", { cause });
  }
}

/** Parses a WeChat Pay public key PEM, or the public key of a PEM certificate, into a KeyObject. */
export function loadPublicKey(pem: string): KeyObject {
  try {
    if (pem.includes("BEGIN CERTIFICATE")) return new X509Certificate(pem).publicKey;
    return createPublicKey(pem);
  } catch (cause) {
    throw new WechatPayError("INVALID_KEY", "not a readable public key or certificate PEM", { cause });
  }
}

/** Serial of a PEM certificate as WeChat writes it: upper-case hex, no separators. */
export function certificateSerialNumber(pem: string): string {
  return new X509Certificate(pem).serialNumber.replace(/:/g, "").toUpperCase();
}
