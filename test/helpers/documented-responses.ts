import type { z } from "zod";
import { ROUTE_DOCS } from "#shared/edges/http/route-docs.js";
import { ROUTES, type RouteDefinition } from "#shared/edges/http/routes.js";

/**
 * Test-side lookups into the route documentation (shared/edges/http/route-docs.ts), for tests that check real responses
 * against the OpenAPI document. They live here, not next to the generator, so the api bundle does not carry them.
 */

/**
 * The zod schema of the documented response body. `path` is the route template (`/stocks/{stock_id}`) or a concrete
 * path (`/stocks/123?x=1`). Returns `undefined` when the documented response has no body (204); throws when the route
 * or the status is not documented.
 */
export function responseSchemaFor(method: string, path: string, status: number): z.ZodType | undefined {
  const route = matchRoute(method, path);
  if (!route) throw new Error(`no documented route for ${method} ${path}`);
  const doc = ROUTE_DOCS[`${route.method} ${route.path}`];
  if (!doc) throw new Error(`${route.method} ${route.path} has no entry in ROUTE_DOCS`);
  const response = doc.responses[status];
  if (!response) {
    throw new Error(
      `${route.method} ${route.path} does not document status ${status} (documented: ${Object.keys(doc.responses).join(", ")})`,
    );
  }
  return response.schema;
}

/** The ROUTES entry a request (template or concrete path, query string ignored) belongs to. */
export function matchRoute(method: string, path: string): RouteDefinition | undefined {
  const wanted = (path.split("?")[0] ?? "").split("/");
  const same = ROUTES.filter((r) => r.method === method.toUpperCase());
  const exact = same.find((r) => r.path === path);
  if (exact) return exact;
  return same.find((r) => {
    const template = r.path.split("/");
    if (template.length !== wanted.length) return false;
    return template.every((part, i) =>
      part.startsWith("{") ? (wanted[i] ?? "") !== "" : part === decodeURIComponent(wanted[i] ?? ""),
    );
  });
}
