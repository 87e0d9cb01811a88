/**
 * The service's HTTP routes: one table used by the CDK stack (API Gateway routes, their authorization and JWT
 * scopes, the IAM caller policies), by the local stack (request → API Gateway v2 event, bearer tokens with scopes)
 * and by the OpenAPI document. `target` names the Lambda that serves the route: `send-api` serves the one-off,
 * latency-sensitive send (POST /coupons) alone, so campaign posts, status reads and exports on `api` never hold the
 * execution environments it waits for (issue 15: beside three campaign posts a send waited 1.3 s for a cold start,
 * test/bench/interactive-latency.ts); `notify` is WeChat's webhook.
 */
export type RouteTarget = "api" | "send-api" | "notify";
/** `caller`: IAM (SigV4) or JWT in AWS, a bearer token locally. `public`: WeChat's webhook, authenticated by its signature. */
export type RouteAuth = "caller" | "public";
/**
 * Who may call a caller route.
 * - `admin`: changes what WeChat does for the whole merchant: creates and starts, pauses, restarts or stops stocks
 *   (their budgets), points WeChat's COUPON.USE notifications at a URL (`POST /callbacks`: whoever sets it receives
 *   them), uploads marketing images. For operators, not for applications.
 * - `send`: issues coupons (one at a time or in campaigns) from stocks an admin has started, and steers its
 *   campaigns (pause, resume, cancel, retry) and exports their coupons or failures as CSV files (it makes a file):
 *   the marketing team's operations. Also starts a reconciliation of a stock with WeChat's flow files: it changes
 *   only this service's records, to what WeChat reports.
 * - `read`: reads stocks, coupons, campaigns, flows, settings and this API's description (and an export's state
 *   and download link).
 * `webhook` is the public route WeChat calls.
 */
export type RouteAccess = "admin" | "send" | "read";

export interface RouteDefinition {
  method: "GET" | "POST";
  path: string;
  target: RouteTarget;
  auth: RouteAuth;
  access: RouteAccess | "webhook";
}

/**
 * JWT scopes (API Gateway `AuthorizationScopes`: the token needs at least one of the route's) per access level. A
 * sender and an admin may read; only an admin may administer, and an admin token cannot send.
 */
export const JWT_SCOPES = {
  admin: "wxcoupon/admin",
  send: "wxcoupon/send",
  read: "wxcoupon/read",
} as const satisfies Record<RouteAccess, string>;

export const ROUTE_SCOPES: Record<RouteAccess, readonly string[]> = {
  admin: [JWT_SCOPES.admin],
  send: [JWT_SCOPES.send],
  read: [JWT_SCOPES.read, JWT_SCOPES.send, JWT_SCOPES.admin],
};

/**
 * The IAM side of the same split: two managed policies, each allowing execute-api:Invoke on the routes of these
 * levels. `caller` (the one that existed before the split) is for applications, `admin` for operators.
 */
export const CALLER_POLICY_ACCESS = {
  caller: ["send", "read"],
  admin: ["admin", "read"],
} as const satisfies Record<string, readonly RouteAccess[]>;

/** The scopes a route accepts (none for the webhook). */
export function scopesOf(route: RouteDefinition): readonly string[] {
  return route.access === "webhook" ? [] : ROUTE_SCOPES[route.access];
}

const api = (access: RouteAccess, method: RouteDefinition["method"], path: string): RouteDefinition => ({
  method,
  path,
  target: "api",
  auth: "caller",
  access,
});

export const ROUTES: readonly RouteDefinition[] = [
  api("admin", "POST", "/stocks"),
  api("read", "GET", "/stocks"),
  api("read", "GET", "/stocks/{stock_id}"),
  api("admin", "POST", "/stocks/{stock_id}/start"),
  api("admin", "POST", "/stocks/{stock_id}/pause"),
  api("admin", "POST", "/stocks/{stock_id}/restart"),
  api("admin", "POST", "/stocks/{stock_id}/stop"),
  api("read", "GET", "/stocks/{stock_id}/merchants"),
  api("read", "GET", "/stocks/{stock_id}/items"),
  api("read", "GET", "/stocks/{stock_id}/use-flow"),
  api("read", "GET", "/stocks/{stock_id}/refund-flow"),
  { method: "POST", path: "/coupons", target: "send-api", auth: "caller", access: "send" },
  api("read", "GET", "/coupons/{coupon_id}"),
  api("read", "GET", "/coupons/{coupon_id}/events"),
  api("read", "GET", "/users/{openid}/coupons"),
  api("read", "GET", "/users/{openid}/coupons/{coupon_id}"),
  api("send", "POST", "/campaigns"),
  api("read", "GET", "/campaigns"),
  api("send", "POST", "/campaigns/{campaign_id}/chunks"),
  api("send", "POST", "/campaigns/{campaign_id}/pause"),
  api("send", "POST", "/campaigns/{campaign_id}/resume"),
  api("send", "POST", "/campaigns/{campaign_id}/cancel"),
  api("send", "POST", "/campaigns/{campaign_id}/retry"),
  api("read", "GET", "/campaigns/{campaign_id}"),
  api("read", "GET", "/campaigns/{campaign_id}/failures"),
  api("read", "GET", "/campaigns/{campaign_id}/coupons"),
  api("read", "GET", "/campaigns/{campaign_id}/report"),
  api("send", "POST", "/campaigns/{campaign_id}/exports"),
  api("read", "GET", "/campaigns/{campaign_id}/exports/{export_id}"),
  api("send", "POST", "/reconciliations"),
  api("read", "GET", "/reconciliations/{reconciliation_id}"),
  api("read", "GET", "/reconciliations/{reconciliation_id}/findings"),
  api("read", "GET", "/reconciliations/{reconciliation_id}/findings.csv"),
  api("admin", "POST", "/callbacks"),
  api("read", "GET", "/callbacks"),
  // Sends a test event to every HTTP event consumer (docs/events.md#signed-http-forwarding): reaches outside systems.
  api("admin", "POST", "/webhooks/test"),
  api("admin", "POST", "/media/images"),
  api("read", "GET", "/openapi.json"),
  { method: "POST", path: "/notify/wechatpay", target: "notify", auth: "public", access: "webhook" },
];
