import { createCipheriv, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import type { LocalStack } from "#local/stack/start-local-stack.js";

export interface SignedNotification {
  body: string;
  headers: Record<string, string>;
}

export interface NotificationOptions {
  id: string;
  couponId: string;
  stockId: string;
  key?: KeyObject;
  serial?: string;
  timestamp?: number;
  signature?: string;
  /** Fields of the decrypted resource besides (or replacing) the four above: consume_information, … */
  resource?: Record<string, unknown>;
}

/**
 * WeChat's side of a COUPON.USE notification, built independently here with node:crypto (test-only): AES-256-GCM
 * resource under the APIv3 key, signed with the simulator's WeChat Pay key unless `key`/`signature` say otherwise.
 */
export function signedNotification(stack: LocalStack, options: NotificationOptions): SignedNotification {
  const keys = stack.simulator.config.keys;
  const nonce = randomBytes(6).toString("hex");
  const plaintext = JSON.stringify({
    stock_creator_mchid: stack.mchid,
    stock_id: options.stockId,
    coupon_id: options.couponId,
    status: "USED",
    ...options.resource,
  });
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(keys.apiv3Key), Buffer.from(nonce));
  cipher.setAAD(Buffer.from("coupon"));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).toString("base64");
  const body = JSON.stringify({
    id: options.id,
    create_time: "2026-11-27T10:00:05+08:00",
    resource_type: "encrypt-resource",
    event_type: "COUPON.USE",
    summary: "用券成功",
    resource: { original_type: "coupon", algorithm: "AEAD_AES_256_GCM", ciphertext, associated_data: "coupon", nonce },
  });
  return { body, headers: signatureHeaders(stack, body, options) };
}

/** Fresh signature headers over `body` (WeChat re-signs every redelivery of the same notification). */
export function signatureHeaders(
  stack: LocalStack,
  body: string,
  options: Pick<NotificationOptions, "key" | "serial" | "timestamp" | "signature"> = {},
): Record<string, string> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const headerNonce = randomBytes(16).toString("hex");
  const signature =
    options.signature ??
    sign(
      "sha256",
      Buffer.from(`${timestamp}\n${headerNonce}\n${body}\n`),
      options.key ?? stack.simulator.config.keys.wechatpayPrivateKey,
    ).toString("base64");
  return {
    "content-type": "application/json",
    "wechatpay-timestamp": timestamp,
    "wechatpay-nonce": headerNonce,
    "wechatpay-serial": options.serial ?? stack.simulator.config.wechatpay_public_key_id,
    "wechatpay-signature": signature,
    "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
  };
}

/** POSTs a notification to the stack's webhook. */
export const deliverNotification = (stack: Pick<LocalStack, "apiUrl">, n: SignedNotification) =>
  fetch(`${stack.apiUrl}/notify/wechatpay`, { method: "POST", headers: n.headers, body: n.body });

/** Names of the cases `forgedNotifications` returns, in order (for `it.each` before a stack exists). */
export const FORGERY_NAMES = [
  "signed with another key",
  "replayed with a timestamp 10 minutes old",
  "a WECHATPAY/SIGNTEST/ probe",
  "naming a serial we do not hold",
  "with a tampered body",
] as const;

export interface Forgery {
  name: string;
  /** The coupon the forged notification names: it must never gain an event. */
  couponId: string;
  make(): SignedNotification;
}

/**
 * Notifications the webhook must refuse with 401 and no state change: another key, a replay 10 minutes old, a
 * WECHATPAY/SIGNTEST/ probe, an unknown serial, a tampered body. `tag` keeps ids and coupon ids apart between suites.
 */
export function forgedNotifications(stack: LocalStack, stockId: string, tag = "880"): Forgery[] {
  const coupon = (n: number) => `${tag}${String(n).padStart(3, "0")}`;
  const forged = (id: string, couponId: string, extra: Partial<NotificationOptions> = {}) =>
    signedNotification(stack, { id: `EV-${tag}-${id}`, couponId, stockId, ...extra });
  return [
    {
      name: FORGERY_NAMES[0],
      couponId: coupon(2),
      make: () => forged("forged", coupon(2), { key: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey }),
    },
    {
      name: FORGERY_NAMES[1],
      couponId: coupon(3),
      make: () => forged("old", coupon(3), { timestamp: Math.floor(Date.now() / 1000) - 600 }),
    },
    {
      name: FORGERY_NAMES[2],
      couponId: coupon(4),
      make: () => forged("probe", coupon(4), { signature: "WECHATPAY/SIGNTEST/abc" }),
    },
    {
      name: FORGERY_NAMES[3],
      couponId: coupon(5),
      make: () => forged("serial", coupon(5), { serial: "PUB_KEY_ID_0000000000000000000000000000000001" }),
    },
    {
      name: FORGERY_NAMES[4],
      couponId: coupon(6),
      make: () => {
        const n = forged("tamper", coupon(6));
        return { ...n, body: n.body.replace("用券成功", "用券失败") };
      },
    },
  ];
}
