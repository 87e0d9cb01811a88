import { describe, expect, it } from "vitest";
import { CALLER_POLICY_ACCESS, JWT_SCOPES, ROUTE_SCOPES, ROUTES, scopesOf } from "#shared/edges/http/routes.js";

const keys = (filter: (r: (typeof ROUTES)[number]) => boolean) =>
  ROUTES.filter(filter)
    .map((r) => `${r.method} ${r.path}`)
    .sort();

describe("the route table's access levels", () => {
  it("makes exactly the stock lifecycle, the notify URL, media uploads and event test sends admin routes", () => {
    expect(keys((r) => r.access === "admin")).toEqual(
      [
        "POST /stocks",
        "POST /stocks/{stock_id}/start",
        "POST /stocks/{stock_id}/pause",
        "POST /stocks/{stock_id}/restart",
        "POST /stocks/{stock_id}/stop",
        "POST /callbacks",
        "POST /media/images",
        "POST /webhooks/test",
      ].sort(),
    );
  });

  it("makes the coupon and campaign writes (and the campaign controls, and reconciliations) send routes, and every GET a read route", () => {
    expect(keys((r) => r.access === "send")).toEqual(
      [
        "POST /coupons",
        "POST /reconciliations",
        "POST /campaigns",
        "POST /campaigns/{campaign_id}/chunks",
        "POST /campaigns/{campaign_id}/pause",
        "POST /campaigns/{campaign_id}/resume",
        "POST /campaigns/{campaign_id}/cancel",
        "POST /campaigns/{campaign_id}/retry",
        "POST /campaigns/{campaign_id}/exports",
      ].sort(),
    );
    expect(keys((r) => r.access === "read")).toEqual(keys((r) => r.method === "GET"));
  });

  it("leaves only WeChat's webhook public, and every other route a caller route with a level", () => {
    expect(keys((r) => r.access === "webhook")).toEqual(["POST /notify/wechatpay"]);
    for (const route of ROUTES) {
      expect(route.auth === "public", `${route.method} ${route.path}`).toBe(route.access === "webhook");
      expect(route.target === "notify", `${route.method} ${route.path}`).toBe(route.access === "webhook");
    }
  });

  it("serves the one-off send (POST /coupons) alone from send-api, coupon reads and every other caller route from api", () => {
    expect(keys((r) => r.target === "send-api")).toEqual(["POST /coupons"]);
    expect(keys((r) => r.target === "api")).toEqual(keys((r) => r.auth === "caller" && r.target !== "send-api"));
    expect(keys((r) => r.target === "api")).toContain("GET /coupons/{coupon_id}");
  });

  it("gives admin routes the admin scope only, send routes the send scope only; any caller may read", () => {
    const admin = ROUTES.find((r) => r.path === "/callbacks" && r.method === "POST")!;
    expect(scopesOf(admin)).toEqual([JWT_SCOPES.admin]);
    expect(scopesOf(ROUTES.find((r) => r.path === "/coupons")!)).toEqual([JWT_SCOPES.send]);
    expect([...ROUTE_SCOPES.read].sort()).toEqual(Object.values(JWT_SCOPES).sort());
    expect(scopesOf(ROUTES.find((r) => r.access === "webhook")!)).toEqual([]);
  });

  it("splits the IAM policies the same way: applications send and read, operators administer and read", () => {
    expect(CALLER_POLICY_ACCESS).toEqual({ caller: ["send", "read"], admin: ["admin", "read"] });
    // No policy grants both admin and send: a leaked application role cannot redirect notifications.
    for (const levels of Object.values(CALLER_POLICY_ACCESS)) {
      expect((levels as readonly string[]).includes("admin") && (levels as readonly string[]).includes("send")).toBe(
        false,
      );
    }
  });
});
