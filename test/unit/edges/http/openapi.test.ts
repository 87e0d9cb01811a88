import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { buildOpenApiDocument, type OpenApiOperation, VERSION } from "#shared/edges/http/openapi.js";
import { ROUTES, scopesOf } from "#shared/edges/http/routes.js";
import {
  campaignChunkBody,
  createCampaignBody,
  OUT_REQUEST_NO,
  sendCouponBody,
  setCallbackBody,
  stockCommandBody,
  uploadImageBody,
} from "#shared/edges/http/schemas.js";
import { createStockBody } from "#shared/edges/http/stock-schemas.js";
import { matchRoute, responseSchemaFor } from "../../../helpers/documented-responses.js";
import { conforms, type Schema } from "./json-schema-check.js";

const doc = buildOpenApiDocument();
const components = doc.components.schemas as Record<string, Schema>;
const operation = (method: string, path: string): OpenApiOperation => {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${path} missing from the document`);
  return op;
};
const requestSchemaOf = (method: string, path: string): Schema =>
  operation(method, path).requestBody!.content["application/json"]!.schema as Schema;

/** Both the zod schema and the document's JSON schema must give the same verdict. */
const agree = (zodSchema: z.ZodType, jsonSchema: Schema, value: unknown) => ({
  zod: zodSchema.safeParse(value).success,
  json: conforms(jsonSchema, value, components),
});

const validStock = () => ({
  stock_name: "新客立减",
  comment: "spring",
  available_begin_time: "2030-05-20T13:29:35+08:00",
  available_end_time: "2030-06-20T13:29:35+08:00",
  stock_use_rule: {
    max_coupons: 100,
    max_amount: 10_000,
    max_coupons_per_user: 1,
    natural_person_limit: false,
    prevent_api_abuse: false,
  },
  pattern_info: { description: "满200减100", jump_target: "DEFAULT_PAGE" },
  coupon_use_rule: {
    fixed_normal_coupon: { coupon_amount: 100, transaction_minimum: 200 },
    available_merchants: ["1900000001"],
  },
  no_cash: false,
  stock_type: "NORMAL",
  out_request_no: "1900000001-20300520-0001",
});

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with the hard-coded version, equal to package.json's", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "wxcoupon", version: pkg.version });
    expect(VERSION).toBe(pkg.version);
  });

  it("is built once and frozen", () => {
    expect(buildOpenApiDocument()).toBe(doc);
    expect(Object.isFrozen(doc.paths)).toBe(true);
  });

  it("documents every route of ROUTES with its method, and nothing else", () => {
    for (const route of ROUTES) expect(operation(route.method, route.path)).toBeDefined();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("gives every operation a unique operationId, a summary and a 2xx response", () => {
    const ops = ROUTES.map((r) => operation(r.method, r.path));
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    for (const op of ops) {
      expect(op.summary).not.toBe("");
      expect(Object.keys(op.responses).some((s) => s.startsWith("2"))).toBe(true);
    }
  });

  it("secures every caller route with the declared schemes and leaves the webhook public", () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    expect(schemes.sort()).toEqual(["awsSigV4", "bearerAuth"]);
    for (const route of ROUTES) {
      const { security } = operation(route.method, route.path);
      if (route.auth === "public") {
        expect(security).toEqual([]);
      } else {
        expect(security.length).toBeGreaterThan(0);
        for (const requirement of security)
          for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
        // The JWT requirement lists the route's scopes, and the operation names its access level.
        expect(security).toContainEqual({ bearerAuth: [...scopesOf(route)] });
      }
      expect(operation(route.method, route.path)["x-wxcoupon-access"]).toBe(route.access);
    }
    expect(operation("POST", "/notify/wechatpay").security).toEqual([]);
    expect(doc.components.securitySchemes["awsSigV4"]?.["description"]).toMatch(/Signature Version 4/);
  });

  it("declares each path template parameter as a required path parameter", () => {
    for (const route of ROUTES) {
      const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const params = (operation(route.method, route.path).parameters ?? []).filter((p) => p.in === "path");
      expect(params.map((p) => p.name)).toEqual(names);
      for (const p of params) expect(p.required).toBe(true);
    }
  });

  it("turns each query schema property into one parameter with required, description and schema", () => {
    const params = operation("GET", "/stocks").parameters ?? [];
    expect(params.map((p) => p.name)).toEqual([
      "offset",
      "limit",
      "stock_creator_mchid",
      "create_start_time",
      "create_end_time",
      "status",
    ]);
    for (const p of params) {
      expect(p).toMatchObject({ in: "query", required: false });
      expect(p.description).not.toBe("");
    }
    expect(params.find((p) => p.name === "limit")?.schema).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 10,
      default: 10,
    });
    expect(params.find((p) => p.name === "status")?.schema["enum"]).toContain("stoped");
    expect(operation("GET", "/callbacks").parameters).toEqual([
      expect.objectContaining({ name: "mchid", in: "query", required: false }),
    ]);
  });

  it("resolves every $ref", () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const target = ref.slice(8, -1);
      const [, section, name] = target.match(/^#\/components\/(schemas|headers)\/(.+)$/) ?? [];
      expect(section, target).toBeDefined();
      expect((doc.components as Record<string, Record<string, unknown>>)[section!]![name!], target).toBeDefined();
    }
  });

  it("keeps no per-schema $schema or $id inside the document", () => {
    expect(JSON.stringify(doc)).not.toMatch(/"\$schema"|"\$id"/);
  });

  it("documents the error statuses where they occur", () => {
    const statuses = (method: string, path: string) => Object.keys(operation(method, path).responses);
    expect(statuses("POST", "/coupons")).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404", "409", "429", "500", "502", "503"]),
    );
    expect(statuses("POST", "/stocks")).toEqual(expect.arrayContaining(["201", "409", "503"]));
    expect(statuses("POST", "/campaigns")).toEqual(expect.arrayContaining(["202", "409", "503"]));
    expect(statuses("GET", "/campaigns/{campaign_id}")).toEqual(expect.arrayContaining(["200", "404"]));
    expect(statuses("POST", "/notify/wechatpay").sort()).toEqual(["204", "400", "401", "500"]);
    expect(operation("POST", "/coupons").responses["503"]?.headers).toHaveProperty("Retry-After");
  });
});

describe("request schemas in the document", () => {
  it("are closed objects with their patterns, like the zod schemas at the edge", () => {
    for (const [method, path] of [
      ["POST", "/coupons"],
      ["POST", "/stocks"],
      ["POST", "/campaigns"],
      ["POST", "/callbacks"],
      ["POST", "/media/images"],
      ["POST", "/stocks/{stock_id}/start"],
    ] as const) {
      const ref = requestSchemaOf(method, path)["$ref"] as string;
      const schema = components[ref.replace("#/components/schemas/", "")]!;
      expect(schema["additionalProperties"], `${method} ${path}`).toBe(false);
    }
    const send = components["SendCouponRequest"]!["properties"] as Record<string, Schema>;
    expect(send["stock_id"]!["pattern"]).toBe("^[0-9]{1,20}$");
    expect(send["out_request_no"]!["pattern"]).toBeDefined();
    expect(components["SendCouponRequest"]!["required"]).toEqual(["stock_id", "openid", "out_request_no"]);
  });

  it("mark the stock-command body optional and the others required", () => {
    expect(operation("POST", "/stocks/{stock_id}/pause").requestBody?.required).toBe(false);
    expect(operation("POST", "/coupons").requestBody?.required).toBe(true);
  });

  const examples: Array<[string, z.ZodType, string, string, unknown, boolean]> = [
    [
      "a valid send",
      sendCouponBody,
      "POST",
      "/coupons",
      { stock_id: "9856000", openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", out_request_no: "89560002019101000121" },
      true,
    ],
    [
      "a send with a field WeChat has not opened",
      sendCouponBody,
      "POST",
      "/coupons",
      { stock_id: "9856000", openid: "o1", out_request_no: "r1", coupon_value: 100 },
      false,
    ],
    [
      "a send with a non-numeric stock id",
      sendCouponBody,
      "POST",
      "/coupons",
      { stock_id: "abc", openid: "o1", out_request_no: "r1" },
      false,
    ],
    [
      "a send whose out_request_no has a space",
      sendCouponBody,
      "POST",
      "/coupons",
      { stock_id: "1", openid: "o1", out_request_no: "r 1" },
      false,
    ],
    ["a send without openid", sendCouponBody, "POST", "/coupons", { stock_id: "1", out_request_no: "r1" }, false],
    ["a campaign", createCampaignBody, "POST", "/campaigns", { stock_id: "1", openids: ["a", "b"] }, true],
    ["a campaign without recipients", createCampaignBody, "POST", "/campaigns", { stock_id: "1", openids: [] }, false],
    [
      "a chunked campaign",
      createCampaignBody,
      "POST",
      "/campaigns",
      { campaign_id: "c-1", stock_id: "1", chunked: true, rate_per_second: 100 },
      true,
    ],
    [
      "a chunk",
      campaignChunkBody,
      "POST",
      "/campaigns/{campaign_id}/chunks",
      { chunk_no: 0, openids: ["a", "b"], last: true },
      true,
    ],
    [
      "a chunk with a negative number",
      campaignChunkBody,
      "POST",
      "/campaigns/{campaign_id}/chunks",
      { chunk_no: -1, openids: ["a"] },
      false,
    ],
    [
      "a chunk without openids",
      campaignChunkBody,
      "POST",
      "/campaigns/{campaign_id}/chunks",
      { chunk_no: 1, openids: [] },
      false,
    ],
    [
      "a campaign with a fractional rate",
      createCampaignBody,
      "POST",
      "/campaigns",
      { stock_id: "1", openids: ["a"], rate_per_second: 1.5 },
      false,
    ],
    [
      "a campaign above the rate limit",
      createCampaignBody,
      "POST",
      "/campaigns",
      { stock_id: "1", openids: ["a"], rate_per_second: 501 },
      false,
    ],
    [
      "a callback URL over 256 characters",
      setCallbackBody,
      "POST",
      "/callbacks",
      { notify_url: `https://example.com/${"a".repeat(240)}` },
      false,
    ],
    [
      "an upper-case image extension",
      uploadImageBody,
      "POST",
      "/media/images",
      { filename: "logo.PNG", content_base64: "iVBORw0KGgo=" },
      true,
    ],
    ["a gif", uploadImageBody, "POST", "/media/images", { filename: "logo.gif", content_base64: "R0lGODlh" }, false],
    [
      "a file name with a slash",
      uploadImageBody,
      "POST",
      "/media/images",
      { filename: "a/b.png", content_base64: "iVBORw0KGgo=" },
      false,
    ],
    ["an empty stock command", stockCommandBody, "POST", "/stocks/{stock_id}/start", {}, true],
    [
      "a stock command with an unknown field",
      stockCommandBody,
      "POST",
      "/stocks/{stock_id}/start",
      { force: true },
      false,
    ],
    ["a create-stock body", createStockBody, "POST", "/stocks", validStock(), true],
    [
      "a create-stock body with stock_type DISCOUNT",
      createStockBody,
      "POST",
      "/stocks",
      { ...validStock(), stock_type: "DISCOUNT" },
      false,
    ],
    [
      "a create-stock body with an unknown nested field",
      createStockBody,
      "POST",
      "/stocks",
      { ...validStock(), stock_use_rule: { ...validStock().stock_use_rule, extra: 1 } },
      false,
    ],
    [
      "a create-stock body with a string amount",
      createStockBody,
      "POST",
      "/stocks",
      { ...validStock(), stock_use_rule: { ...validStock().stock_use_rule, max_coupons: "100" } },
      false,
    ],
  ];

  it.each(examples)("give zod's verdict on %s", (_name, zodSchema, method, path, value, accepted) => {
    expect(agree(zodSchema, requestSchemaOf(method, path), value)).toEqual({ zod: accepted, json: accepted });
  });

  it("accept every file name the edge accepts, in any letter case, and no other", () => {
    const filename = uploadImageBody.shape.filename;
    const jsonFilename = (components["UploadImageRequest"]!["properties"] as Record<string, Schema>)["filename"]!;
    // Oracle: the same rule with the `i` flag, which zod can run but a JSON Schema pattern cannot carry.
    const rule = /^[^/\\]{1,128}\.(jpg|bmp|png)$/i;
    const unit = fc.constantFrom("a", "Z", "/", "\\", ".", "j", "P", "G", "g", "p", "n", "N", "e", "b", "M", "é");
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 12 }),
        fc.constantFrom(".png", ".PNG", ".JpEg", ".bMp", ".jpG", ".gif", ".pngx", ".jp", "", "."),
        (s, ext) => {
          const name = s + ext;
          const accepted = rule.test(name);
          expect(filename.safeParse(name).success, name).toBe(accepted);
          expect(conforms(jsonFilename, name), name).toBe(accepted);
        },
      ),
    );
  });

  it("use no regex flags: zod writes only a regex's source into the document, and JSON Schema patterns have none", () => {
    const regexWithFlags = /\.regex\(\s*\/(?:\\.|\[(?:\\.|[^\]\\])*\]|[^/\\[\n])+\/[a-z]+/;
    expect(regexWithFlags.test('z.string().regex(/^[^/\\\\]{1,4}\\.(png)$/i, "m")')).toBe(true);
    expect(regexWithFlags.test('z.string().regex(/^[^/\\\\]{1,4}\\.([pP][nN][gG])$/, "m")')).toBe(false);
    const dir = new URL("../../../../shared/edges/http/", import.meta.url);
    for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))) {
      expect(readFileSync(new URL(file, dir), "utf8"), file).not.toMatch(regexWithFlags);
    }
  });

  it("keep the idempotency-key pattern equivalent to zod's", () => {
    const json = (components["SendCouponRequest"]!["properties"] as Record<string, Schema>)["out_request_no"]!;
    const unit = fc.constantFrom("a", "9", "|", "_", "*", "-", " ", "/", "é");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 140 }), (s) => {
        expect(conforms(json, s)).toBe(OUT_REQUEST_NO.safeParse(s).success);
      }),
    );
  });

  it("take belong_merchant as optional in create-stock (it defaults to the configured merchant)", () => {
    expect(createStockBody.safeParse(validStock()).success).toBe(true);
    expect(createStockBody.safeParse({ ...validStock(), belong_merchant: "1900000001" }).success).toBe(true);
    expect(createStockBody.safeParse({ ...validStock(), belong_merchant: "x" }).success).toBe(false);
    expect(createStockBody.safeParse({ ...validStock(), stock_creator_mchid: "1900000001" }).success).toBe(true);
  });
});

describe("responseSchemaFor", () => {
  const stock = {
    stock_id: "9856000",
    stock_creator_mchid: "1900000001",
    stock_name: "新客立减",
    status: "running",
    create_time: "2030-05-20T13:29:35+08:00",
    description: "新客立减",
    stock_use_rule: {
      max_coupons: 100,
      max_amount: 10_000,
      max_amount_by_day: 10_000,
      max_coupons_per_user: 1,
      coupon_type: "NORMAL",
      combine_use: true,
    },
    available_begin_time: "2030-05-20T13:29:35+08:00",
    available_end_time: "2030-06-20T13:29:35+08:00",
    distributed_coupons: 3,
    no_cash: false,
    singleitem: false,
    stock_type: "NORMAL",
    a_field_wechat_added_later: "passes",
  };

  it("finds the schema by route template or by concrete path", () => {
    expect(responseSchemaFor("GET", "/stocks/{stock_id}", 200)).toBe(
      responseSchemaFor("get", "/stocks/9856000?x=1", 200),
    );
    expect(responseSchemaFor("GET", "/stocks/9856000", 200)!.parse(stock)).toMatchObject({ stock_id: "9856000" });
    expect(matchRoute("POST", "/stocks/9856000/start")?.path).toBe("/stocks/{stock_id}/start");
    expect(matchRoute("GET", "/stocks/9856000/start")).toBeUndefined();
  });

  it("answers undefined for a documented response without a body and throws for undocumented ones", () => {
    expect(responseSchemaFor("POST", "/notify/wechatpay", 204)).toBeUndefined();
    expect(() => responseSchemaFor("POST", "/notify/wechatpay", 200)).toThrow(/does not document status 200/);
    expect(() => responseSchemaFor("DELETE", "/stocks", 200)).toThrow(/no documented route/);
  });

  it("accepts real-shaped bodies and refuses drifted ones, as the document's schemas do", () => {
    const cases: Array<[string, string, number, string, unknown, boolean]> = [
      ["GET", "/stocks", 200, "StockCollection", { total_count: 1, limit: 10, offset: 0, data: [stock] }, true],
      ["GET", "/stocks", 200, "StockCollection", { total_count: 0, limit: 10, offset: 0 }, true],
      ["GET", "/stocks/1", 200, "Stock", { ...stock, status: "RUNNING" }, false],
      [
        "POST",
        "/coupons",
        200,
        "SendCouponResponse",
        { coupon_id: "9867041", out_request_no: "r1", replayed: false },
        true,
      ],
      ["POST", "/coupons", 200, "SendCouponResponse", { coupon_id: "9867041", out_request_no: "r1" }, false],
      [
        "POST",
        "/coupons",
        409,
        "ErrorResponse",
        { code: "OUT_REQUEST_NO_CONFLICT", message: "m", field: "out_request_no", request_id: "abc" },
        true,
      ],
      ["POST", "/coupons", 500, "ErrorResponse", { code: "INTERNAL_ERROR", message: "m", stack: "…" }, false],
      [
        "POST",
        "/coupons",
        403,
        "RefusalResponse",
        { code: "RULE_LIMIT", message: "m", out_request_no: "r1", replayed: true, request_id: "abc" },
        true,
      ],
      [
        "POST",
        "/stocks",
        200,
        "CreateStockResponse",
        { stock_id: "1", create_time: "2015-05-20T13:29:35.120+08:00", out_request_no: "r1", replayed: true },
        true,
      ],
      [
        "POST",
        "/stocks",
        422,
        "ErrorResponse",
        { code: "SOMETHING_NEW", message: "m", out_request_no: "r1", replayed: false, request_id: "abc" },
        true,
      ],
      [
        "POST",
        "/coupons",
        403,
        "RefusalResponse",
        { code: "NOT_ENOUGH", message: "WeChat Pay: 批次预算不足", request_id: "abc" },
        true,
      ],
      ["POST", "/coupons", 401, "GatewayErrorResponse", { code: "UNAUTHORIZED", message: "missing token" }, true],
      [
        "GET",
        "/campaigns/c1",
        200,
        "CampaignResponse",
        {
          campaign_id: "c1",
          stock_id: "1",
          state: "SENDING",
          total: 3,
          sent: 1,
          failed: 1,
          cancelled: 0,
          pending: 1,
          failures_by_code: { NOT_ENOUGH: 1 },
          rate_per_second: 400,
          sealed: true,
          chunks_received: 1,
          created_at: "2030-05-20T05:29:35.120Z",
          updated_at: "2030-05-20T05:29:36.000Z",
        },
        true,
      ],
      [
        "POST",
        "/stocks",
        201,
        "CreateStockResponse",
        { stock_id: "1", create_time: "2015-05-20T13:29:35.120+08:00", out_request_no: "r1", replayed: true },
        true,
      ],
      [
        "POST",
        "/stocks/1/pause",
        200,
        "PauseStockResponse",
        { stock_id: "1", pause_time: "2015-05-20T13:29:35+08:00" },
        true,
      ],
      [
        "GET",
        "/stocks/1/use-flow",
        200,
        "UseFlowResponse",
        {
          hash_value: "8ae0eb44",
          hash_type: "SHA1",
          columns: ["批次id"],
          rows: [
            {
              stock_id: "15",
              coupon_id: "1818",
              coupon_type: "全场代金券",
              coupon_amount: 100,
              order_amount: 200,
              trade_type: "支付",
              transaction_id: "4200000000000000000000000001",
              consume_time: "2020-11-27T16:23:05+08:00",
              consume_mchid: "1900000001",
              device_no: "",
              bank_serial_no: "",
              goods_info: "",
            },
          ],
          total_count: 1,
        },
        true,
      ],
      [
        "GET",
        "/coupons/9867041/events",
        200,
        "CouponEventsResponse",
        {
          data: [
            {
              id: "EV-1",
              event_type: "COUPON.USE",
              coupon_id: "9867041",
              stock_id: "1",
              create_time: "2030-05-20T13:29:35+08:00",
              received_at: "2030-05-20T05:29:36.000Z",
              resource: { status: "USED" },
            },
          ],
        },
        true,
      ],
      [
        "POST",
        "/campaigns/c1/chunks",
        202,
        "CampaignChunkResponse",
        {
          campaign_id: "c1",
          chunk_no: 0,
          accepted: 2,
          duplicates_removed: 0,
          replayed: false,
          total: 2,
          sealed: false,
        },
        true,
      ],
      [
        "GET",
        "/campaigns/c1/failures?cursor=abc",
        200,
        "CampaignFailuresResponse",
        { data: [{ openid: "o1", out_request_no: "c1_x", code: "NOT_ENOUGH" }], cursor: "next" },
        true,
      ],
      ["GET", "/campaigns/c1/failures", 200, "CampaignFailuresResponse", { data: [{ openid: "o1" }] }, false],
      ["POST", "/notify/wechatpay", 401, "WebhookFailureResponse", { code: "FAIL", message: "signature" }, true],
      ["POST", "/notify/wechatpay", 500, "WebhookFailureResponse", { code: "SUCCESS", message: "x" }, false],
    ];
    for (const [method, path, status, component, body, accepted] of cases) {
      const label = `${method} ${path} ${status} ${JSON.stringify(body).slice(0, 60)}`;
      expect(responseSchemaFor(method, path, status)!.safeParse(body).success, label).toBe(accepted);
      const documented = operation(method, matchRoute(method, path)!.path).responses[String(status)]!;
      expect(documented.content!["application/json"]!.schema, label).toEqual({
        $ref: `#/components/schemas/${component}`,
      });
      expect(conforms(components[component]!, body, components), label).toBe(accepted);
    }
  });
});
