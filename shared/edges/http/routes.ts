/**
 * The service's HTTP routes: one table used by the CDK stack (API Gateway routes and their authorization)
 * and by the local stack (request → API Gateway v2 event). `target` names the Lambda that serves the route.
 */
export type RouteTarget = "api" | "notify";
/** `caller`: IAM (SigV4) or JWT in AWS, a bearer token locally. `public`: WeChat's webhook, authenticated by its signature. */
export type RouteAuth = "caller" | "public";

export interface RouteDefinition {
  method: "GET" | "POST";
  path: string;
  target: RouteTarget;
  auth: RouteAuth;
}

const api = (method: RouteDefinition["method"], path: string): RouteDefinition => ({
  method,
  path,
  target: "api",
  auth: "caller",
});

export const ROUTES: readonly RouteDefinition[] = [
  api("POST", "/stocks"),
  api("GET", "/stocks"),
  api("GET", "/stocks/{stock_id}"),
  api("POST", "/stocks/{stock_id}/start"),
  api("POST", "/stocks/{stock_id}/pause"),
  api("POST", "/stocks/{stock_id}/restart"),
  api("POST", "/stocks/{stock_id}/stop"),
  api("GET", "/stocks/{stock_id}/merchants"),
  api("GET", "/stocks/{stock_id}/items"),
  api("GET", "/stocks/{stock_id}/use-flow"),
  api("GET", "/stocks/{stock_id}/refund-flow"),
  api("POST", "/coupons"),
  api("GET", "/coupons/{coupon_id}/events"),
  api("GET", "/users/{openid}/coupons"),
  api("GET", "/users/{openid}/coupons/{coupon_id}"),
  api("POST", "/campaigns"),
  api("POST", "/campaigns/{campaign_id}/chunks"),
  api("GET", "/campaigns/{campaign_id}"),
  api("GET", "/campaigns/{campaign_id}/failures"),
  api("POST", "/callbacks"),
  api("GET", "/callbacks"),
  api("POST", "/media/images"),
  api("GET", "/openapi.json"),
  { method: "POST", path: "/notify/wechatpay", target: "notify", auth: "public" },
];
