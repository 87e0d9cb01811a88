/**
 * A deliberately small JSON Schema (2020-12) checker for the keywords the generated document uses, so tests can
 * hold the document's schemas against the zod schemas they came from without a validator dependency. Unknown
 * keywords (format, description, default, contentEncoding…) are annotations here, as they are by default in 2020-12.
 */
export type Schema = Record<string, unknown>;

export function conforms(schema: Schema, value: unknown, components: Record<string, Schema> = {}): boolean {
  return check(schema, value, components);
}

function check(schema: Schema | boolean, value: unknown, components: Record<string, Schema>): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  const ref = schema["$ref"];
  if (typeof ref === "string") {
    const target = components[ref.replace("#/components/schemas/", "")];
    if (!target) throw new Error(`unresolved $ref ${ref}`);
    if (!check(target, value, components)) return false;
  }
  if (schema["type"] !== undefined) {
    const types = Array.isArray(schema["type"]) ? schema["type"] : [schema["type"]];
    if (!types.some((t) => hasType(t as string, value))) return false;
  }
  if (Array.isArray(schema["enum"]) && !schema["enum"].includes(value)) return false;
  if ("const" in schema && schema["const"] !== value) return false;
  if (Array.isArray(schema["allOf"]) && !schema["allOf"].every((s) => check(s as Schema, value, components)))
    return false;
  if (Array.isArray(schema["anyOf"]) && !schema["anyOf"].some((s) => check(s as Schema, value, components)))
    return false;
  if (typeof value === "string") {
    const length = [...value].length;
    if (typeof schema["pattern"] === "string" && !new RegExp(schema["pattern"], "u").test(value)) return false;
    if (typeof schema["minLength"] === "number" && length < schema["minLength"]) return false;
    if (typeof schema["maxLength"] === "number" && length > schema["maxLength"]) return false;
  }
  if (typeof value === "number") {
    if (typeof schema["minimum"] === "number" && value < schema["minimum"]) return false;
    if (typeof schema["maximum"] === "number" && value > schema["maximum"]) return false;
  }
  if (Array.isArray(value)) {
    if (typeof schema["minItems"] === "number" && value.length < schema["minItems"]) return false;
    if (typeof schema["maxItems"] === "number" && value.length > schema["maxItems"]) return false;
    const items = schema["items"] as Schema | undefined;
    if (items && !value.every((v) => check(items, v, components))) return false;
  }
  if (isObject(value)) {
    const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
    const required = (schema["required"] ?? []) as string[];
    if (!required.every((k) => k in value)) return false;
    for (const [k, v] of Object.entries(value)) {
      const property = properties[k];
      if (property) {
        if (!check(property, v, components)) return false;
      } else if (schema["additionalProperties"] !== undefined) {
        if (!check(schema["additionalProperties"] as Schema | boolean, v, components)) return false;
      }
    }
  }
  return true;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      throw new Error(`unknown type ${type}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
