import type { KeyObject } from "node:crypto";
import { type HeaderSource, readHeader } from "../auth/headers.js";
import {
  checkSignedMessageEnvelope,
  readSignedMessage,
  type SignedMessage,
  verifySignedMessage,
} from "../auth/signed-message.js";
import type { VerificationKeySource } from "../auth/wechatpay-verifier.js";
import { decryptAeadAesGcm } from "../crypto/aead-aes-gcm.js";
import { NotificationFormatError, SignatureVerificationError } from "../errors.js";
import type { CouponUseResource, NotificationEnvelope, ParsedNotification } from "./notification.js";

export const COUPON_USE_EVENT = "COUPON.USE";
const SUPPORTED_ALGORITHM = "AEAD_AES_256_GCM";
/** The only signature scheme of APIv3 (https://pay.weixin.qq.com/doc/v3/merchant/4013053249): RSA-2048 → 256 bytes. */
const SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048";
const SIGNATURE_BYTES = 256;
/** A platform certificate serial is the certificate's hex serial number; a public-key id is PUB_KEY_ID_ + digits. */
const SERIAL_FORMAT = /^(?:[0-9A-Fa-f]{1,64}|PUB_KEY_ID_[0-9A-Za-z]{1,64})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** AES-256-GCM ciphertext carries its 16-byte tag; WeChat's nonce is a 12-character string. */
const GCM_TAG_BYTES = 16;

export interface NotificationKeys {
  verificationKeys: VerificationKeySource & { resolve?(serial: string): Promise<KeyObject> };
  apiv3Key: string | Buffer;
}

/** A notification that passed every check needing no key: safe to spend a key lookup (or a download) on. */
export interface CheckedNotification {
  signed: SignedMessage;
  envelope: NotificationEnvelope;
}

function parseJsonObject(text: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new NotificationFormatError(field, "is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new NotificationFormatError(field, "is not a JSON object");
  }
  return value as Record<string, unknown>;
}

function requireStrings(object: Record<string, unknown>, prefix: string, names: readonly string[]): void {
  for (const name of names) {
    if (typeof object[name] !== "string") throw new NotificationFormatError(`${prefix}${name}`, "must be a string");
  }
}

function readEnvelope(body: string): NotificationEnvelope {
  const envelope = parseJsonObject(body, "body");
  requireStrings(envelope, "", ["id", "create_time", "event_type", "resource_type"]);
  const resource = envelope.resource;
  if (typeof resource !== "object" || resource === null) throw new NotificationFormatError("resource", "is missing");
  requireStrings(resource as Record<string, unknown>, "resource.", ["algorithm", "ciphertext", "nonce"]);
  const { associated_data: ad } = resource as Record<string, unknown>;
  if (ad !== undefined && typeof ad !== "string")
    throw new NotificationFormatError("resource.associated_data", "must be a string");
  return envelope as unknown as NotificationEnvelope;
}

/**
 * Every check that needs no key, cheapest first: the Wechatpay-* headers present and well formed (serial, signature
 * type and size, nonce), the `WECHATPAY/SIGNTEST/` probe, the ±300 s window, and the body a notification envelope
 * with the supported algorithm (and `eventType`, if given). Nothing here is trusted: the body is only looked at, and
 * the signature is verified over the raw bytes afterwards. Throws SignatureVerificationError (headers) or
 * NotificationFormatError (body).
 */
export function checkNotification(
  request: { headers: HeaderSource; body: string },
  nowSeconds: number,
  options: { eventType?: string } = {},
): CheckedNotification {
  const signed = readSignedMessage(request.headers, request.body);
  checkSignedMessageEnvelope(signed, nowSeconds);
  checkNotificationHeaders(signed, request.headers);
  const envelope = readEnvelope(request.body);
  if (envelope.resource.algorithm !== SUPPORTED_ALGORITHM) {
    throw new NotificationFormatError("resource.algorithm", `unsupported algorithm ${envelope.resource.algorithm}`);
  }
  const ciphertext = envelope.resource.ciphertext;
  if (!BASE64.test(ciphertext) || Buffer.from(ciphertext, "base64").length <= GCM_TAG_BYTES) {
    throw new NotificationFormatError("resource.ciphertext", "is not AES-GCM ciphertext in base64");
  }
  if (options.eventType !== undefined && envelope.event_type !== options.eventType) {
    throw new NotificationFormatError("event_type", `expected ${options.eventType}, got ${envelope.event_type}`);
  }
  return { signed, envelope };
}

function checkNotificationHeaders(signed: SignedMessage, headers: HeaderSource): void {
  const malformed = (what: string) =>
    new SignatureVerificationError("MALFORMED_HEADER", `${what} is malformed`, {
      serial: signed.serial.slice(0, 80),
      requestId: signed.requestId,
    });
  if (!SERIAL_FORMAT.test(signed.serial)) throw malformed("Wechatpay-Serial");
  if (!/^[\x21-\x7e]{1,64}$/.test(signed.nonce)) throw malformed("Wechatpay-Nonce");
  if (!BASE64.test(signed.signature) || Buffer.from(signed.signature, "base64").length !== SIGNATURE_BYTES) {
    throw malformed("Wechatpay-Signature");
  }
  const type = readHeader(headers, "Wechatpay-Signature-Type");
  if (type !== undefined && type !== SIGNATURE_TYPE) throw malformed("Wechatpay-Signature-Type");
}

/**
 * Verifies a checked notification's signature over its raw body (key by Wechatpay-Serial), then decrypts it. `keys`
 * may be a loader, called only now. A key that cannot be found — including a certificate download that failed — is
 * SignatureVerificationError UNKNOWN_SERIAL: the notification is unverified either way.
 */
export async function openNotification<Resource = unknown>(
  checked: CheckedNotification,
  keys: NotificationKeys | (() => Promise<NotificationKeys>),
  nowSeconds: number,
): Promise<ParsedNotification<Resource>> {
  const { signed, envelope } = checked;
  const resolved = typeof keys === "function" ? await keys() : keys;
  try {
    await verifySignedMessage(signed, resolved.verificationKeys, nowSeconds);
  } catch (error) {
    if (error instanceof SignatureVerificationError) throw error;
    throw new SignatureVerificationError(
      "UNKNOWN_SERIAL",
      `no WeChat Pay key for serial ${signed.serial}: the certificate refresh failed (${(error as Error)?.name ?? "Error"})`,
      { serial: signed.serial, requestId: signed.requestId },
      { cause: error },
    );
  }
  const plaintext = decryptAeadAesGcm({
    key: resolved.apiv3Key,
    nonce: envelope.resource.nonce,
    associatedData: envelope.resource.associated_data ?? "",
    ciphertext: envelope.resource.ciphertext,
  }).toString("utf8");
  const resource = parseJsonObject(plaintext, "resource (decrypted)") as Resource;
  return { envelope, resource, plaintext, serial: signed.serial, requestId: signed.requestId };
}

/**
 * Checks (no key), verifies (over the raw body), then decrypts a WeChat Pay notification.
 * Throws SignatureVerificationError, NotificationFormatError or DecryptionError; nothing is trusted before verification.
 */
export async function parseNotification<Resource = unknown>(
  request: { headers: HeaderSource; body: string },
  keys: NotificationKeys | (() => Promise<NotificationKeys>),
  nowSeconds: number,
): Promise<ParsedNotification<Resource>> {
  return openNotification<Resource>(checkNotification(request, nowSeconds), keys, nowSeconds);
}

/** The fields of a decrypted COUPON.USE the service relies on. */
export function requireCouponUseFields(parsed: ParsedNotification<CouponUseResource>): void {
  requireStrings(parsed.resource as unknown as Record<string, unknown>, "resource.", [
    "stock_creator_mchid",
    "stock_id",
    "coupon_id",
    "status",
  ]);
}

/** parseNotification for COUPON.USE: the event type is checked before any key, the resource's fields after. */
export async function parseCouponUseNotification(
  request: { headers: HeaderSource; body: string },
  keys: NotificationKeys | (() => Promise<NotificationKeys>),
  nowSeconds: number,
): Promise<ParsedNotification<CouponUseResource>> {
  const checked = checkNotification(request, nowSeconds, { eventType: COUPON_USE_EVENT });
  const parsed = await openNotification<CouponUseResource>(checked, keys, nowSeconds);
  requireCouponUseFields(parsed);
  return parsed;
}
