import { SecretError } from "../../domain/errors.js";
import type { MerchantSecret } from "../../domain/ports.js";

/**
 * Parses and validates the merchant secret's JSON (the Secrets Manager shape). Errors name the secret and the field,
 * never a value: JSON.parse's own message quotes the input, so it is neither copied nor attached as `cause`.
 */
export function parseMerchantSecret(secretString: string, secretName: string): MerchantSecret {
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw new SecretError("SECRET_MALFORMED", `secret ${secretName} is not valid JSON`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SecretError("SECRET_MALFORMED", `secret ${secretName} must be a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const required = (field: string): string => {
    const value = obj[field];
    if (value === undefined || value === null || value === "") {
      throw new SecretError("SECRET_FIELD_INVALID", `secret ${secretName} is missing field ${field}`, { field });
    }
    if (typeof value !== "string") {
      throw new SecretError("SECRET_FIELD_INVALID", `secret ${secretName}: field ${field} must be a string`, { field });
    }
    return value;
  };
  const optional = (field: string): string | undefined =>
    obj[field] === undefined || obj[field] === null || obj[field] === "" ? undefined : required(field);
  const invalid = (field: string, why: string): SecretError =>
    new SecretError("SECRET_FIELD_INVALID", `secret ${secretName}: field ${field} ${why}`, { field });

  const secret: MerchantSecret = {
    mchid: required("mchid"),
    merchantSerialNo: required("merchant_serial_no"),
    merchantPrivateKeyPem: required("merchant_private_key"),
    apiv3Key: required("apiv3_key"),
  };
  const publicKeyId = optional("wechatpay_public_key_id");
  const publicKeyPem = optional("wechatpay_public_key");
  const appid = optional("appid");

  // Shape checks only (no parsing of key material here): they catch a secret pasted into the wrong field.
  if (!/^\d{1,32}$/.test(secret.mchid)) throw invalid("mchid", "must be digits");
  if (!/^[0-9A-Fa-f]{8,64}$/.test(secret.merchantSerialNo)) throw invalid("merchant_serial_no", "must be a hex serial");
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(secret.merchantPrivateKeyPem)) {
    throw invalid("merchant_private_key", "must be a PEM private key");
  }
  if (Buffer.byteLength(secret.apiv3Key, "utf8") !== 32) throw invalid("apiv3_key", "must be 32 bytes");
  if ((publicKeyId === undefined) !== (publicKeyPem === undefined)) {
    const missing = publicKeyId === undefined ? "wechatpay_public_key_id" : "wechatpay_public_key";
    throw invalid(missing, "is required when the other WeChat Pay public key field is set");
  }
  if (publicKeyId !== undefined) {
    if (!publicKeyId.startsWith("PUB_KEY_ID_")) throw invalid("wechatpay_public_key_id", "must start with PUB_KEY_ID_");
    secret.wechatpayPublicKeyId = publicKeyId;
  }
  if (publicKeyPem !== undefined) {
    if (!/-----BEGIN PUBLIC KEY-----/.test(publicKeyPem))
      throw invalid("wechatpay_public_key", "must be a PEM public key");
    secret.wechatpayPublicKeyPem = publicKeyPem;
  }
  if (appid !== undefined) secret.appid = appid;
  return secret;
}

/** The inverse of `parseMerchantSecret`: the JSON to store in Secrets Manager (used by the local stack and tests). */
export function formatMerchantSecret(secret: MerchantSecret): string {
  return JSON.stringify({
    mchid: secret.mchid,
    merchant_serial_no: secret.merchantSerialNo,
    merchant_private_key: secret.merchantPrivateKeyPem,
    apiv3_key: secret.apiv3Key,
    ...(secret.wechatpayPublicKeyId === undefined ? {} : { wechatpay_public_key_id: secret.wechatpayPublicKeyId }),
    ...(secret.wechatpayPublicKeyPem === undefined ? {} : { wechatpay_public_key: secret.wechatpayPublicKeyPem }),
    ...(secret.appid === undefined ? {} : { appid: secret.appid }),
  });
}
