import { createHash } from "node:crypto";

/**
 * Fingerprint of the business fields of a request. Two requests with one idempotency key but different fingerprints
 * are a conflict. Keys are sorted so field order never matters.
 */
export function requestHash(fields: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(fields)).digest("base64url").slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
