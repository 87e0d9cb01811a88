/**
 * Last line of defence for the logs: the code base does not pass key material or decrypted payloads to the logger
 * (CONTRIBUTING), and this replacer scrubs them if one slips through anyway, e.g. inside an error message or a
 * logged object. It is the Powertools Logger's `jsonReplacerFn`, so it sees every key/value the log line serialises
 * (nested objects, arrays, formatted errors), before Powertools' own Error/BigInt handling.
 */

export const REDACTED = "[REDACTED]";

/** A PEM block (private key, certificate), or a truncated one running to the end of the string. */
const PEM_BLOCK = /-----BEGIN [^\r\n-]*-----[\s\S]*?(?:-----END [^\r\n-]*-----|$)/g;
/** The APIv3 key is 32 ASCII characters (AEAD_AES_256_GCM). */
const APIV3_KEY_LIKE = /^[A-Za-z0-9]{32}$/;

/** Key names compared without case, `_` or `-`: `apiv3_key`, `apiv3Key` and `APIV3-KEY` are the same. */
const normalise = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, "");
/** Any key containing one of these is redacted whole: `merchant_private_key`, `merchantPrivateKeyPem`, `proxy-authorization`. */
const SENSITIVE_PARTS = ["privatekey", "apiv3key", "authorization", "secretstring", "password"];
/** Keys redacted when they are exactly one of these. `resource` holds WeChat's (decrypted) notification payload. */
const SENSITIVE_KEYS = new Set(["ciphertext", "resource", "plaintext", "secret", "token", "bearertoken", "apikey"]);

export function isSensitiveKey(key: string): boolean {
  const name = normalise(key);
  return SENSITIVE_KEYS.has(name) || SENSITIVE_PARTS.some((part) => name.includes(part));
}

/** Replaces every PEM block in a string. */
export function scrubPem(text: string): string {
  return text.includes("-----BEGIN ") ? text.replace(PEM_BLOCK, "[REDACTED PEM]") : text;
}

/**
 * The Logger's `jsonReplacerFn`: redacts values under sensitive keys, 32-character key-looking values under any key
 * named like a key or secret (`mchKey`, `v3_secret`), and PEM blocks in every string.
 */
export function redactingReplacer(key: string, value: unknown): unknown {
  if (key === "") return value;
  if (value !== undefined && value !== null && isSensitiveKey(key)) return REDACTED;
  if (typeof value !== "string") return value;
  if (APIV3_KEY_LIKE.test(value) && /key|secret/.test(normalise(key))) return REDACTED;
  return scrubPem(value);
}
