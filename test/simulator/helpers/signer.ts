import { createDecipheriv, type KeyObject, randomBytes, sign, verify } from "node:crypto";

/**
 * TEST-ONLY WeChat Pay APIv3 request signer and response checker, written straight on node:crypto so that it
 * checks the simulator rather than sharing its code (and never imports shared/wechatpay).
 */
export interface TestMerchant {
  mchid: string;
  serialNo: string;
  privateKey: KeyObject;
}

export function nonce(length = 32): string {
  return randomBytes(length)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .padEnd(length, "x")
    .slice(0, length);
}

export function authorization(
  merchant: TestMerchant,
  method: string,
  url: string,
  body: string,
  overrides: { timestamp?: number; nonce?: string; serialNo?: string; mchid?: string } = {},
): string {
  const timestamp = String(overrides.timestamp ?? Math.floor(Date.now() / 1000));
  const nonceStr = overrides.nonce ?? nonce();
  const message = `${method}\n${url}\n${timestamp}\n${nonceStr}\n${body}\n`;
  const signature = sign("sha256", Buffer.from(message), merchant.privateKey).toString("base64");
  return (
    `WECHATPAY2-SHA256-RSA2048 mchid="${overrides.mchid ?? merchant.mchid}",nonce_str="${nonceStr}",` +
    `signature="${signature}",timestamp="${timestamp}",serial_no="${overrides.serialNo ?? merchant.serialNo}"`
  );
}

/** Checks `Wechatpay-Signature` over `ts\nnonce\nbody\n` with the given public key. */
export function verifyWechatSignature(headers: Headers, body: string, publicKey: KeyObject): boolean {
  const ts = headers.get("wechatpay-timestamp");
  const n = headers.get("wechatpay-nonce");
  const sig = headers.get("wechatpay-signature");
  if (!ts || !n || !sig) return false;
  return verify("sha256", Buffer.from(`${ts}\n${n}\n${body}\n`), publicKey, Buffer.from(sig, "base64"));
}

export function decryptResource(
  apiv3Key: string,
  resource: { nonce: string; associated_data: string; ciphertext: string },
): string {
  const key = Buffer.from(apiv3Key);
  const raw = Buffer.from(resource.ciphertext, "base64");
  const decipher = createDecipheriv(
    key.length === 16 ? "aes-128-gcm" : "aes-256-gcm",
    key,
    Buffer.from(resource.nonce),
  );
  decipher.setAAD(Buffer.from(resource.associated_data));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString("utf8");
}
