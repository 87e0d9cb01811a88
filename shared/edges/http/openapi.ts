import * as z from "zod";
import {
  DOCUMENT_DESCRIPTION,
  PARAMETER_DESCRIPTIONS,
  REQUEST_COMPONENTS,
  RESPONSE_COMPONENTS,
  ROUTE_DOCS,
  SECURITY_SCHEMES,
  TAGS,
} from "./route-docs.js";
import { ROUTES, type RouteDefinition, scopesOf } from "./routes.js";

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table (routes.ts), its documentation
 * (route-docs.ts) and the same zod schemas that validate requests and type responses, so document and code cannot
 * drift. The api function serves it at `GET /openapi.json`.
 */

/** Kept by hand: Lambda bundles cannot read package.json at run time (a unit test compares the two). */
export const VERSION = "0.1.0";

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, JsonSchema>;
    headers: Record<string, JsonSchema>;
  };
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  /** The route's access level (shared/edges/http/routes.ts): admin, send, read or webhook. */
  "x-wxcoupon-access": string;
  parameters?: Array<{
    name: string;
    in: "path" | "query" | "header";
    required: boolean;
    description: string;
    schema: JsonSchema;
  }>;
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<
    string,
    { description: string; headers?: Record<string, JsonSchema>; content?: Record<string, { schema: JsonSchema }> }
  >;
}

let memo: OpenApiDocument | undefined;

/** The document (built once per container, then frozen). */
export function buildOpenApiDocument(): OpenApiDocument {
  memo ??= deepFreeze(generate());
  return memo;
}

/** SigV4 (the IAM policy decides: CallerPolicy or AdminPolicy), or a JWT holding one of the route's scopes. */
const securityOf = (route: RouteDefinition): Array<Record<string, string[]>> =>
  route.auth === "public" ? [] : [{ awsSigV4: [] }, { bearerAuth: [...scopesOf(route)] }];

function generate(): OpenApiDocument {
  const routeKeys = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
  for (const key of routeKeys) if (!ROUTE_DOCS[key]) throw new Error(`openapi: no documentation for ${key}`);
  for (const key of Object.keys(ROUTE_DOCS)) if (!routeKeys.has(key)) throw new Error(`openapi: ${key} is no route`);

  const requestIds = new Map(REQUEST_COMPONENTS.map(([id, schema]) => [schema, id]));
  const responseIds = new Map(RESPONSE_COMPONENTS.map(([id, schema]) => [schema, id]));
  const ref = (ids: Map<z.ZodType, string>, schema: z.ZodType): JsonSchema => {
    const id = ids.get(schema);
    if (!id) throw new Error("openapi: a documented schema has no component name");
    return { $ref: `#/components/schemas/${id}` };
  };

  const paths: OpenApiDocument["paths"] = {};
  for (const route of ROUTES) {
    const doc = ROUTE_DOCS[`${route.method} ${route.path}`]!;
    const parameters = [
      ...objectParameters(doc.path, "path"),
      ...objectParameters(doc.query, "query"),
      ...(doc.headers ?? []).map((h) => ({
        name: h.name,
        in: "header" as const,
        required: h.required,
        description: h.description,
        schema: { type: "string" },
      })),
    ];
    const templateNames = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const documentedNames = parameters.filter((p) => p.in === "path").map((p) => p.name);
    if (templateNames.join() !== documentedNames.join()) {
      throw new Error(`openapi: ${route.path} path parameters ${documentedNames.join()} do not match the template`);
    }
    const operation: OpenApiOperation = {
      operationId: doc.operationId,
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      tags: [doc.tag],
      security: securityOf(route),
      "x-wxcoupon-access": route.access,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc.body
        ? {
            requestBody: {
              required: !(doc.body instanceof z.ZodOptional),
              content: { "application/json": { schema: ref(requestIds, unwrapOptional(doc.body)) } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(doc.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.retryAfter ? { headers: { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } } : {}),
            ...(r.schema
              ? { content: { [r.mediaType ?? "application/json"]: { schema: ref(responseIds, r.schema) } } }
              : {}),
          },
        ]),
      ),
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: { title: "wxcoupon", version: VERSION, description: DOCUMENT_DESCRIPTION },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: { ...componentSchemas(REQUEST_COMPONENTS, "input"), ...componentSchemas(RESPONSE_COMPONENTS, "output") },
      securitySchemes: SECURITY_SCHEMES,
      headers: {
        RetryAfter: { description: "Seconds to wait before retrying the same request", schema: { type: "integer" } },
      },
    },
  };
}

/** Named schemas via zod's registry mode, so shared models (Stock, Coupon) are `$ref`s, not copies. */
function componentSchemas(entries: Array<[string, z.ZodType]>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  if (schemas["__shared"]) throw new Error("openapi: unnamed shared schemas; give them a component name");
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, tidy(schema) as JsonSchema]));
}

/** One OpenAPI parameter per property of a path or query object schema. */
function objectParameters(schema: z.ZodObject | undefined, where: "path" | "query") {
  if (!schema) return [];
  const json = tidy(z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" })) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === "path" || (json.required ?? []).includes(name),
      description: typeof description === "string" ? description : (PARAMETER_DESCRIPTIONS[name] ?? name),
      schema: propertySchema,
    };
  });
}

/**
 * Readability: drops the per-schema `$schema`/`$id` (invalid inside an OpenAPI document), the ±2^53 bounds zod puts on
 * every integer, and the long date-time regex next to `format: date-time` (RFC 3339 says the same).
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "$schema" || key === "$id") continue;
    if (key === "minimum" && child === Number.MIN_SAFE_INTEGER) continue;
    if (key === "maximum" && child === Number.MAX_SAFE_INTEGER) continue;
    if (key === "pattern" && (value as Record<string, unknown>)["format"] === "date-time") continue;
    out[key] = tidy(child);
  }
  return out;
}

function unwrapOptional(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
