import fc from "fast-check";
import { buildOpenApiDocument } from "#shared/edges/http/openapi.js";
import type { RouteDefinition } from "#shared/edges/http/routes.js";

/**
 * Hostile requests for every route, derived from the route table and the OpenAPI document generated from the same
 * zod schemas the edge validates with. Every request built here is INVALID by construction (a constrained field
 * broken, a wrong type, an unknown field, a non-object body, a broken path parameter), so the only acceptable answers
 * are 4xx with no state change. Free-text fields (strings without pattern/format/enum) only receive wrong types here:
 * unicode there can be legitimate (stock names are Chinese).
 */

type Schema = Record<string, unknown>;

export interface RouteShape {
  route: RouteDefinition;
  pathParams: string[];
  query: Record<string, Schema>;
  /** The request body schema (resolved), if the route takes JSON. */
  body?: Schema;
}

export interface HostileRequest {
  /** What was broken, for the failure message. */
  mutation: string;
  path: string;
  query: string;
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

const DOC = buildOpenApiDocument() as unknown as {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { in: string; name: string; schema: Schema }[];
        requestBody?: { content: Record<string, { schema: Schema }> };
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

function resolve(schema: Schema | undefined): Schema | undefined {
  if (!schema) return undefined;
  const ref = schema.$ref;
  if (typeof ref === "string") return resolve(DOC.components.schemas[ref.split("/").at(-1)!]);
  return schema;
}

export function routeShape(route: RouteDefinition): RouteShape {
  const op = DOC.paths[route.path]?.[route.method.toLowerCase()];
  const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const query: Record<string, Schema> = {};
  for (const p of op?.parameters ?? []) if (p.in === "query") query[p.name] = p.schema;
  const body = resolve(op?.requestBody?.content["application/json"]?.schema);
  return { route, pathParams, query, ...(body ? { body } : {}) };
}

/** Characters no constrained field accepts: emoji, ZWJ sequences, RTL override, NUL, lone surrogates, … */
export const BREAKING = [
  "😀",
  "👨‍👩‍👧‍👦",
  "\u202E",
  "\u200F",
  "مرحبا",
  "\u0000",
  "\uD800",
  "\uDFFF",
  "１",
  "٣",
  " ",
  "%",
  "/",
  "\\",
  "..",
  "'",
  '"',
  "<",
  "\r\n",
  "\t",
  "\uFEFF",
  "\u00A0",
  "İ",
];

const breaking = (chars: string[]) =>
  fc
    .tuple(
      fc.oneof(
        fc.constant(""),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
        fc.constantFrom("123", "running", "SENDED"),
      ),
      fc.constantFrom(...chars),
      fc.oneof(
        fc.constant(""),
        fc.string({ unit: "binary", maxLength: 8 }),
        fc.string({ unit: "grapheme", maxLength: 8 }),
      ),
    )
    .map(([a, b, c]) => `${a}${b}${c}`);

/** A string a pattern/format/enum-constrained field must refuse. */
export const breakingString = breaking(BREAKING);

/**
 * Not a number even for `Number()`, which query integers go through (z.coerce): it trims whitespace and reads hex,
 * so padding and 0x are left out here (lenient, not hostile: `?limit=5%20` is 5).
 */
const breakingNumber = breaking(BREAKING.filter((c) => c.trim() !== "" && c !== "\uFEFF"));

const longString = fc.constantFrom("9".repeat(300), "a".repeat(5_000), "😀".repeat(2_000));

/** A JSON value of the wrong type for a field of `schema`. */
function wrongType(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const type = schema?.type;
  const objects = fc.oneof(
    fc.constant({}),
    fc.dictionary(breakingString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  );
  const nested = fc.constant(JSON.parse(`${"[".repeat(500)}${"]".repeat(500)}`));
  const common = [fc.constant(null), fc.boolean(), objects, nested];
  if (type === "string") return fc.oneof(...common, fc.integer(), fc.double(), fc.array(fc.string(), { maxLength: 3 }));
  if (type === "integer" || type === "number")
    return fc.oneof(
      ...common,
      fc.string({ unit: "grapheme", maxLength: 10 }),
      fc.constantFrom("1", "1e999", "0x10", "NaN"),
      fc.array(fc.integer(), { maxLength: 2 }),
      ...(type === "integer" ? [fc.constantFrom(0.5, 1.000001, -1.5, 1e308 + 0.5, Number.MAX_VALUE)] : []),
    );
  if (type === "boolean")
    return fc.oneof(fc.constant(null), fc.constantFrom("true", "false", 0, 1, "yes"), objects, fc.array(fc.boolean()));
  if (type === "array") return fc.oneof(...common, fc.string(), fc.integer(), fc.constant({ 0: "a", length: 1 }));
  if (type === "object")
    return fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.string(),
      fc.integer(),
      fc.array(fc.jsonValue(), { maxLength: 3 }),
    );
  return fc.oneof(...common, fc.string(), fc.integer());
}

/** Is a string field constrained (so any BREAKING character makes it invalid)? */
function constrained(schema: Schema | undefined): boolean {
  if (!schema) return false;
  return (
    typeof schema.pattern === "string" ||
    typeof schema.format === "string" ||
    Array.isArray(schema.enum) ||
    "const" in schema
  );
}

/** Every field path of an object schema, with its schema (objects recursively, arrays by their item). */
function fieldPaths(schema: Schema | undefined, prefix: string[] = []): { path: string[]; schema: Schema }[] {
  const s = resolve(schema);
  if (!s) return [];
  if (s.type === "object" && s.properties) {
    return Object.entries(s.properties as Record<string, Schema>).flatMap(([name, child]) => {
      const c = resolve(child)!;
      return [{ path: [...prefix, name], schema: c }, ...fieldPaths(c, [...prefix, name])];
    });
  }
  if (s.type === "array" && s.items) {
    const item = resolve(s.items as Schema)!;
    return [{ path: [...prefix, "0"], schema: item }, ...fieldPaths(item, [...prefix, "0"])];
  }
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).flatMap((alt) => fieldPaths(alt, prefix));
  return [];
}

/** Sets `path` in a deep copy of `template`, creating objects/arrays on the way. */
function setPath(template: unknown, path: string[], value: unknown): unknown {
  const root = structuredClone(template ?? {}) as Record<string, unknown>;
  let node: Record<string, unknown> = root;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = /^\d+$/.test(path[i + 1]!) ? [] : {};
    node = node[key] as Record<string, unknown>;
  });
  return root;
}

/** Percent-encodes a path segment or query component, lone surrogates as (invalid) raw UTF-8 bytes. */
export function encodeComponent(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i++;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      out += `%${(0xe0 | (code >> 12)).toString(16).toUpperCase()}%${(0x80 | ((code >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`;
    } else {
      out += encodeURIComponent(value[i]!);
    }
  }
  return out;
}

export interface Templates {
  /** Valid path parameter values that name nothing (so a valid request could not change state either). */
  pathParams: Record<string, string>;
  /** A valid body per route key ("POST /coupons"); a body is only ever sent broken. */
  bodies: Record<string, unknown>;
}

/** Hostile requests for one route: exactly one part (path, query, body) broken per request. */
export function hostileRequests(shape: RouteShape, templates: Templates): fc.Arbitrary<HostileRequest> {
  const { route } = shape;
  const key = `${route.method} ${route.path}`;
  const validPath = (overrides: Record<string, string> = {}) =>
    route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
      encodeComponent(overrides[name] ?? templates.pathParams[name] ?? "unknown"),
    );
  const template = templates.bodies[key] ?? {};
  const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", undefined);
  const validBody = route.method === "POST" ? JSON.stringify(template) : undefined;
  const arbitraries: fc.Arbitrary<HostileRequest>[] = [];

  for (const name of shape.pathParams) {
    arbitraries.push(
      fc.oneof(breakingString, longString).map((value) => ({
        mutation: `path ${name} = ${JSON.stringify(value).slice(0, 80)}`,
        path: validPath({ [name]: value }),
        query: "",
        ...(validBody === undefined ? {} : { body: validBody, contentType: "application/json" }),
      })),
    );
  }
  if (route.method === "GET") {
    // Only GET: a POST with a valid body and a stray query parameter would be a valid request.
    const names = Object.keys(shape.query);
    const value = (name: string) =>
      shape.query[name]?.type === "integer"
        ? fc.oneof(breakingNumber, fc.constantFrom("-1", "1.5", "1e999", "abc", "999999999999"))
        : breakingString;
    if (names.length > 0) {
      arbitraries.push(
        fc
          .constantFrom(...names)
          .chain((name) => value(name).map((v) => [name, v] as const))
          .map(([name, v]) => ({
            mutation: `query ${name} = ${JSON.stringify(v).slice(0, 80)}`,
            path: validPath(),
            query: `${encodeComponent(name)}=${encodeComponent(v)}`,
          })),
      );
    }
    arbitraries.push(
      fc.tuple(breakingString, breakingString).map(([name, v]) => ({
        mutation: `unknown query ${JSON.stringify(name).slice(0, 40)}`,
        path: validPath(),
        query: `${encodeComponent(name)}=${encodeComponent(v)}`,
      })),
    );
  }
  if (route.method === "POST" && shape.body) {
    const fields = fieldPaths(shape.body);
    if (fields.length > 0) {
      arbitraries.push(
        fc
          .constantFrom(...fields)
          .chain((field) =>
            (constrained(field.schema)
              ? fc.oneof(breakingString, longString, wrongType(field.schema))
              : wrongType(field.schema)
            ).map((value) => ({ field, value })),
          )
          .chain(({ field, value }) =>
            contentType.map((ct) => ({
              mutation: `body ${field.path.join(".")} = ${JSON.stringify(value)?.slice(0, 80)}`,
              path: validPath(),
              query: "",
              body: JSON.stringify(setPath(template, field.path, value)),
              ...(ct ? { contentType: ct } : {}),
            })),
          ),
      );
    }
    arbitraries.push(
      fc.tuple(breakingString, fc.jsonValue({ maxDepth: 2 })).map(([name, value]) => ({
        mutation: `unknown body field ${JSON.stringify(name).slice(0, 40)}`,
        path: validPath(),
        query: "",
        body: JSON.stringify({ ...(template as object), [name]: value }),
        contentType: "application/json",
      })),
    );
  }
  if (route.method === "POST") {
    arbitraries.push(
      fc
        .oneof(
          fc
            .jsonValue({ maxDepth: 3 })
            .filter((v) => typeof v !== "object" || v === null || Array.isArray(v))
            .map((v) => JSON.stringify(v)),
          fc.constantFrom(
            "{",
            "[",
            '{"a":',
            "{'a':1}",
            "\u0000",
            "\uFEFF{}",
            "null",
            "undefined",
            "NaN",
            "{}}",
            '{"__proto__":{"x":1}}x',
          ),
          fc.string({ unit: "binary", maxLength: 50 }).filter((s) => {
            try {
              JSON.parse(s);
              return false;
            } catch {
              return true;
            }
          }),
        )
        .chain((body) =>
          contentType.map((ct) => ({
            mutation: `body ${JSON.stringify(body).slice(0, 80)}`,
            path: validPath(),
            query: "",
            body,
            ...(ct ? { contentType: ct } : {}),
          })),
        ),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
        mutation: `raw bytes ${Buffer.from(bytes).toString("hex").slice(0, 40)}`,
        path: validPath(),
        query: "",
        body: Uint8Array.from([0xff, 0xfe, 0xc0, 0xaf, ...bytes]),
        contentType: "application/json",
      })),
    );
  }
  return fc.oneof(...arbitraries);
}
