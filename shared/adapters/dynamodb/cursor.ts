import { ValidationError } from "../../domain/errors.js";

/** Opaque page cursor: a DynamoDB LastEvaluatedKey as base64url JSON. */
export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: a cursor the caller made up
  }
  throw new ValidationError("cursor", "is not a cursor this service returned");
}
