import { ValidationError } from "../domain/errors.js";

/**
 * Opaque page cursors: the position after the last item of a page, as base64url JSON. A caller can still send any
 * text, so `decodeCursor` accepts only the exact shape its list wrote, for the same list (`owner`): anything else is
 * a 400, never a store error (a crafted key handed to DynamoDB answers ValidationException, a 500 here).
 */
export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/**
 * The position `cursor` holds if it has exactly the string fields `fields` and `owner`'s values (the list it was
 * made for); otherwise a ValidationError naming `cursor`.
 */
export function decodeCursor<F extends string>(
  cursor: string,
  fields: readonly F[],
  owner: Partial<Record<F, string>>,
): Record<F, string> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  const position = value as Record<string, unknown>;
  const valid =
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(position).length === fields.length &&
    fields.every((f) => typeof position[f] === "string" && (position[f] as string).length > 0) &&
    Object.entries(owner).every(([f, v]) => position[f] === v);
  if (!valid) throw new ValidationError("cursor", "is not a cursor this list returned");
  return position as Record<F, string>;
}
