import type { KeyObject } from "node:crypto";
import type { HeaderSource } from "../auth/headers.js";
import { readSignedMessage, verifySignedMessage } from "../auth/signed-message.js";
import type { VerificationKeySource } from "../auth/wechatpay-verifier.js";
import { decryptAeadAesGcm } from "../crypto/aead-aes-gcm.js";
import { NotificationFormatError } from "../errors.js";
import type { CouponUseResource, NotificationEnvelope, ParsedNotification } from "./notification.js";

export const COUPON_USE_EVENT = "COUPON.USE";
const SUPPORTED_ALGORITHM = "AEAD_AES_256_GCM";

export interface NotificationKeys {
  verificationKeys: VerificationKeySource & { resolve?(serial: string): Promise<KeyObject> };
  apiv3Key: string | Buffer;
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
 * Verifies (over the raw body, before any parsing), then decrypts a WeChat Pay notification.
 * Throws SignatureVerificationError, NotificationFormatError or DecryptionError; nothing is trusted before verification.
 */
export async function parseNotification<Resource = unknown>(
  request: { headers: HeaderSource; body: string },
  keys: NotificationKeys,
  nowSeconds: number,
): Promise<ParsedNotification<Resource>> {
  const signed = readSignedMessage(request.headers, request.body);
  await verifySignedMessage(signed, keys.verificationKeys, nowSeconds);
  const envelope = readEnvelope(request.body);
  if (envelope.resource.algorithm !== SUPPORTED_ALGORITHM) {
    throw new NotificationFormatError("resource.algorithm", `unsupported algorithm ${envelope.resource.algorithm}`);
  }
  const plaintext = decryptAeadAesGcm({
    key: keys.apiv3Key,
    nonce: envelope.resource.nonce,
    associatedData: envelope.resource.associated_data ?? "",
    ciphertext: envelope.resource.ciphertext,
  }).toString("utf8");
  const resource = parseJsonObject(plaintext, "resource (decrypted)") as Resource;
  return { envelope, resource, plaintext, serial: signed.serial, requestId: signed.requestId };
}

/** parseNotification for COUPON.USE, checking the event type and the fields the service relies on. */
export async function parseCouponUseNotification(
  request: { headers: HeaderSource; body: string },
  keys: NotificationKeys,
  nowSeconds: number,
): Promise<ParsedNotification<CouponUseResource>> {
  const parsed = await parseNotification<CouponUseResource>(request, keys, nowSeconds);
  if (parsed.envelope.event_type !== COUPON_USE_EVENT) {
    throw new NotificationFormatError("event_type", `expected ${COUPON_USE_EVENT}, got ${parsed.envelope.event_type}`);
  }
  requireStrings(parsed.resource as unknown as Record<string, unknown>, "resource.", [
    "stock_creator_mchid",
    "stock_id",
    "coupon_id",
    "status",
  ]);
  return parsed;
}
