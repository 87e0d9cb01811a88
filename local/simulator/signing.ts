import type { KeyObject } from "node:crypto";
import type { SimContext } from "./context.js";
import { responseSignMessage } from "./crypto/messages.js";
import { randomNonce } from "./crypto/nonce.js";
import { signAsync } from "./crypto/rsa.js";

export interface WechatSigner {
  serial: string;
  key: KeyObject;
}

/**
 * The key WeChat signs with: the one the request's `Wechatpay-Serial` names when we own it (migration,
 * docs/wechatpay-apiv3-security.md#choosing-the-verification-key), else the mode's key (platform certificate or WeChat
 * Pay public key).
 */
export function chooseSigner(ctx: SimContext, requestedSerial: string | undefined): WechatSigner {
  const platform = { serial: ctx.file.platform_certificate_serial, key: ctx.keys.platformPrivateKey };
  const publicKey = { serial: ctx.file.wechatpay_public_key_id, key: ctx.keys.wechatpayPrivateKey };
  if (requestedSerial) {
    if (requestedSerial.toUpperCase() === platform.serial) return platform;
    if (requestedSerial === publicKey.serial) return publicKey;
  }
  return ctx.file.mode === "public_key" ? publicKey : platform;
}

/** Wechatpay-* headers over `ts\nnonce\nbody\n` (an empty body gives `ts\nnonce\n\n`). */
export async function wechatpayHeaders(
  ctx: SimContext,
  signer: WechatSigner,
  body: string,
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(ctx.clock.wireNow() / 1000));
  const nonce = randomNonce(32);
  const signature = await signAsync(responseSignMessage(timestamp, nonce, body), signer.key);
  return {
    "Wechatpay-Timestamp": timestamp,
    "Wechatpay-Nonce": nonce,
    "Wechatpay-Signature": signature,
    "Wechatpay-Serial": signer.serial,
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
  };
}
