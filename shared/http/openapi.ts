import * as z from "zod";
import * as res from "./response-schemas.js";
import { ROUTES, type RouteDefinition, scopesOf } from "./routes.js";
import {
  callbackQuery,
  campaignChunkBody,
  campaignFailuresQuery,
  campaignIdPath,
  couponDetailQuery,
  couponIdPath,
  createCampaignBody,
  itemsQuery,
  listStocksQuery,
  merchantsQuery,
  openidPath,
  sendCouponBody,
  setCallbackBody,
  stockCommandBody,
  stockDetailQuery,
  stockIdPath,
  uploadImageBody,
  userCouponPath,
  userCouponsQuery,
} from "./schemas.js";
import { createStockBody } from "./stock-schemas.js";

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table and the same zod schemas that validate
 * requests (schemas.ts, stock-schemas.ts) and type responses (response-schemas.ts), so document and code cannot drift.
 * The api function serves it at `GET /openapi.json`.
 */

/** Kept by hand: Lambda bundles cannot read package.json at run time (a unit test compares the two). */
export const VERSION = "0.1.0";

type JsonSchema = Record<string, unknown>;

interface ResponseDoc {
  description: string;
  /** Absent: the response has no body (204). */
  schema?: z.ZodType;
  retryAfter?: boolean;
}

interface HeaderDoc {
  name: string;
  description: string;
  required: boolean;
}

interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  path?: z.ZodObject;
  query?: z.ZodObject;
  headers?: HeaderDoc[];
  /** A `ZodOptional` body is documented as optional. */
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
}

// ---- the documentation table, one entry per row of ROUTES ----

/** Schemas documented only here: the webhook's body is parsed by the WeChat notification parser, not by zod. */
const notificationEnvelope = z.looseObject({
  id: z.string().describe("Notification id, e.g. EV-2018022511223320873: WeChat's retries reuse it"),
  create_time: z.string().describe("RFC 3339"),
  event_type: z.string().describe("COUPON.USE"),
  resource_type: z.string().describe("encrypt-resource"),
  summary: z.string().optional(),
  resource: z.looseObject({
    original_type: z.string().describe("coupon"),
    algorithm: z.literal("AEAD_AES_256_GCM"),
    ciphertext: z.string().describe("base64; decrypted with the merchant's APIv3 key"),
    associated_data: z.string().optional(),
    nonce: z.string(),
  }),
});

/** 403 on a route that calls WeChat: WeChat's refusal (our error body) or the IAM authorizer's denial. */
const refusalResponse = z.union([res.errorResponse, res.gatewayErrorResponse]);

const invalid: ResponseDoc = {
  description: "Invalid request: `field` names the offending parameter (INVALID_ARGUMENT, INVALID_JSON, BODY_REQUIRED)",
  schema: res.errorResponse,
};
const notFound = (what: string): ResponseDoc => ({ description: `${what} not found`, schema: res.errorResponse });
const conflict: ResponseDoc = {
  description: "The idempotency key was already used for a different request (OUT_REQUEST_NO_CONFLICT…)",
  schema: res.errorResponse,
};
const conflictOrInProgress: ResponseDoc = {
  description:
    "out_request_no already used for a different request (OUT_REQUEST_NO_CONFLICT, RESOURCE_ALREADY_EXISTS), or the " +
    "same request is still in progress (REQUEST_IN_PROGRESS: retry after Retry-After)",
  schema: res.errorResponse,
  retryAfter: true,
};
const storedRefusal: ResponseDoc = {
  description:
    "WeChat refused with a code that has no documented status; the refusal is stored and replayed with " +
    "out_request_no and replayed in the body (documented codes use WeChat's status: 400, 403, 404, 409)",
  schema: res.errorResponse,
};

/** Responses every caller route can give. */
const callerBase: Record<number, ResponseDoc> = {
  401: {
    description: "No or invalid credentials (JWT authorizer; the local stack's bearer check)",
    schema: res.gatewayErrorResponse,
  },
  403: { description: "The IAM authorizer denied the signed request", schema: res.gatewayErrorResponse },
  429: {
    description: "Throttled by API Gateway, or WeChat Pay's rate limit (RATE_LIMITED): retry after Retry-After",
    schema: refusalResponse,
    retryAfter: true,
  },
  500: { description: "Unexpected error; the body carries only the request id", schema: res.errorResponse },
};

/** Responses of routes that call WeChat Pay. */
const wechatBase: Record<number, ResponseDoc> = {
  ...callerBase,
  400: {
    description: "Invalid request, or WeChat Pay's PARAM_ERROR / INVALID_REQUEST passed through with its code",
    schema: res.errorResponse,
  },
  403: {
    description:
      "WeChat Pay refused the call (NOT_ENOUGH, RULE_LIMIT, REQUEST_BLOCKED, NO_AUTH…), or the IAM authorizer denied it",
    schema: refusalResponse,
  },
  502: {
    description: "WeChat Pay refused our merchant signature, or its answer failed verification",
    schema: res.errorResponse,
  },
  503: {
    description: "WeChat Pay did not answer (or answered 5xx): retry the same request after Retry-After",
    schema: res.errorResponse,
    retryAfter: true,
  },
};

const ok = (description: string, schema: z.ZodType): ResponseDoc => ({ description, schema });

const queueUnavailable: ResponseDoc = {
  description: "The send queue is unavailable (QUEUE_UNAVAILABLE): retry the same request after Retry-After",
  schema: res.errorResponse,
  retryAfter: true,
};

const stockCommand = (verb: string, summary: string, description: string, schema: z.ZodType): RouteDoc => ({
  operationId: `${verb}Stock`,
  summary,
  description,
  tag: "stocks",
  path: stockIdPath,
  body: stockCommandBody,
  responses: { ...wechatBase, 200: ok(`WeChat's answer: stock_id and ${verb}_time`, schema), 404: notFound("Stock") },
});

const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  "POST /stocks": {
    operationId: "createStock",
    summary: "Create a stock (WeChat create-stock)",
    description:
      "Idempotent on out_request_no: a retry with the same body returns the same stock (replayed: true); the same " +
      "out_request_no with another body is a 409. A 503 means the outcome is not known yet: retry the same request.",
    tag: "stocks",
    body: createStockBody,
    responses: {
      ...wechatBase,
      200: ok("Replay: this out_request_no created the stock before (replayed: true)", res.createStockResponse),
      201: ok("The stock (status unactivated)", res.createStockResponse),
      409: conflictOrInProgress,
      422: storedRefusal,
    },
  },
  "GET /stocks": {
    operationId: "listStocks",
    summary: "List stocks",
    tag: "stocks",
    query: listStocksQuery,
    responses: { ...wechatBase, 200: ok("WeChat's StockCollection", res.stockCollectionResponse) },
  },
  "GET /stocks/{stock_id}": {
    operationId: "getStock",
    summary: "Stock detail",
    tag: "stocks",
    path: stockIdPath,
    query: stockDetailQuery,
    responses: { ...wechatBase, 200: ok("WeChat's Stock", res.stock), 404: notFound("Stock") },
  },
  "POST /stocks/{stock_id}/start": stockCommand(
    "start",
    "Activate a stock",
    "unactivated → running; a prepaid stock locks its budget",
    res.startStockResponse,
  ),
  "POST /stocks/{stock_id}/pause": stockCommand(
    "pause",
    "Pause a stock",
    "running → paused: no channel issues it",
    res.pauseStockResponse,
  ),
  "POST /stocks/{stock_id}/restart": stockCommand(
    "restart",
    "Restart a paused stock",
    "paused → running",
    res.restartStockResponse,
  ),
  "POST /stocks/{stock_id}/stop": stockCommand(
    "stop",
    "Stop an unactivated stock",
    "unactivated → stoped (WeChat's spelling), permanently",
    res.stopStockResponse,
  ),
  "GET /stocks/{stock_id}/merchants": {
    operationId: "listStockMerchants",
    summary: "Merchants where the stock's coupons can be used",
    tag: "stocks",
    path: stockIdPath,
    query: merchantsQuery,
    responses: { ...wechatBase, 200: ok("Merchant ids", res.availableCollectionResponse), 404: notFound("Stock") },
  },
  "GET /stocks/{stock_id}/items": {
    operationId: "listStockItems",
    summary: "Goods codes the stock's coupons apply to",
    tag: "stocks",
    path: stockIdPath,
    query: itemsQuery,
    responses: { ...wechatBase, 200: ok("Goods codes", res.availableCollectionResponse), 404: notFound("Stock") },
  },
  "GET /stocks/{stock_id}/use-flow": {
    operationId: "getStockUseFlow",
    summary: "Coupon-use flow of a stock",
    description: "Fetches WeChat's download link, downloads the CSV, checks its SHA-1 and returns the rows.",
    tag: "stocks",
    path: stockIdPath,
    responses: { ...wechatBase, 200: ok("The flow's rows", res.flowResponse), 404: notFound("Stock") },
  },
  "GET /stocks/{stock_id}/refund-flow": {
    operationId: "getStockRefundFlow",
    summary: "Refund flow of a stock",
    description: "Fetches WeChat's download link, downloads the CSV, checks its SHA-1 and returns the rows.",
    tag: "stocks",
    path: stockIdPath,
    responses: { ...wechatBase, 200: ok("The flow's rows", res.flowResponse), 404: notFound("Stock") },
  },
  "POST /coupons": {
    operationId: "sendCoupon",
    summary: "Send one coupon to a user",
    description:
      "Idempotent on out_request_no: reuse it on every retry and the same coupon_id comes back (replayed: true). " +
      "A 503 means the outcome is not known yet: retry with the same out_request_no.",
    tag: "coupons",
    body: sendCouponBody,
    responses: {
      ...wechatBase,
      200: ok("The coupon WeChat issued", res.sendCouponResponse),
      404: notFound("Stock"),
      409: conflictOrInProgress,
      422: storedRefusal,
    },
  },
  "GET /coupons/{coupon_id}/events": {
    operationId: "listCouponEvents",
    summary: "Notifications (COUPON.USE) received for a coupon",
    description: "Read from the service's own store; an unknown coupon has no events (200 with an empty list).",
    tag: "coupons",
    path: couponIdPath,
    responses: { ...callerBase, 400: invalid, 200: ok("Events, oldest first", res.couponEventsResponse) },
  },
  "GET /users/{openid}/coupons": {
    operationId: "listUserCoupons",
    summary: "A user's coupons",
    tag: "coupons",
    path: openidPath,
    query: userCouponsQuery,
    responses: { ...wechatBase, 200: ok("WeChat's CouponCollection", res.couponCollectionResponse) },
  },
  "GET /users/{openid}/coupons/{coupon_id}": {
    operationId: "getUserCoupon",
    summary: "Coupon detail",
    tag: "coupons",
    path: userCouponPath,
    query: couponDetailQuery,
    responses: { ...wechatBase, 200: ok("WeChat's Coupon", res.coupon), 404: notFound("Coupon") },
  },
  "POST /campaigns": {
    operationId: "createCampaign",
    summary: "Send a stock's coupons to many users",
    description:
      "With openids: accepted for asynchronous sending (one coupon per distinct openid), sealed at once. With " +
      "chunked: true and a campaign_id (no openids): an open campaign of total 0; post its recipients with POST " +
      "/campaigns/{campaign_id}/chunks. Re-posting the same campaign is a replay; the same campaign_id with another " +
      "request is a 409. Follow progress with GET /campaigns/{campaign_id}.",
    tag: "campaigns",
    body: createCampaignBody,
    responses: {
      ...callerBase,
      400: invalid,
      202: ok("Accepted", res.campaignAcceptedResponse),
      409: conflict,
      503: queueUnavailable,
    },
  },
  "POST /campaigns/{campaign_id}/chunks": {
    operationId: "addCampaignChunk",
    summary: "Add a chunk of recipients to a chunked campaign",
    description:
      "Idempotent per (campaign, chunk_no): the same chunk again is a replay (nothing is counted or sent twice); the " +
      "same chunk_no with other openids is a 409 CHUNK_CONFLICT. Each recipient's out_request_no derives from " +
      "(campaign, chunk_no, openid), so re-posting after an interruption reuses it. Duplicates inside a chunk are " +
      "removed; the same openid in two chunks is two sends. last: true seals the campaign once chunks 0..chunk_no " +
      "all arrived; a chunk after the last is a 409 CHUNK_AFTER_LAST.",
    tag: "campaigns",
    path: campaignIdPath,
    body: campaignChunkBody,
    responses: {
      ...callerBase,
      400: invalid,
      202: ok("Accepted (or replayed)", res.campaignChunkResponse),
      404: notFound("Campaign"),
      409: {
        description:
          "CHUNK_CONFLICT (chunk_no reused for other openids), CHUNK_AFTER_LAST, LAST_CHUNK_CONFLICT (another chunk " +
          "was the last), CAMPAIGN_NOT_CHUNKED (the campaign was created with its openids)",
        schema: res.errorResponse,
      },
      503: queueUnavailable,
    },
  },
  "GET /campaigns/{campaign_id}": {
    operationId: "getCampaign",
    summary: "A campaign's progress",
    tag: "campaigns",
    path: campaignIdPath,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("Counters and state", res.campaignResponse),
      404: notFound("Campaign"),
    },
  },
  "GET /campaigns/{campaign_id}/failures": {
    operationId: "listCampaignFailures",
    summary: "A campaign's failed sends, page by page",
    description:
      "Sends with a final failure (openid, out_request_no, WeChat's code). A page may be empty while a cursor is " +
      "present: follow cursors until there is none. Eventually consistent (read from an index).",
    tag: "campaigns",
    path: campaignIdPath,
    query: campaignFailuresQuery,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("One page of failures", res.campaignFailuresResponse),
      404: notFound("Campaign"),
    },
  },
  "POST /callbacks": {
    operationId: "setCallback",
    summary: "Set the merchant's coupon notification URL",
    tag: "callbacks",
    body: setCallbackBody,
    responses: { ...wechatBase, 200: ok("WeChat's answer", res.setCallbackResponse) },
  },
  "GET /callbacks": {
    operationId: "getCallback",
    summary: "A merchant's notification URL (the configured merchant's by default)",
    tag: "callbacks",
    query: callbackQuery,
    responses: { ...wechatBase, 200: ok("WeChat's answer", res.callbackSettingsResponse) },
  },
  "POST /media/images": {
    operationId: "uploadImage",
    summary: "Upload a marketing image (logo, coupon image)",
    description:
      "JPG, BMP or PNG, at most 2 MB decoded. The service computes the SHA-256 and does the multipart upload.",
    tag: "media",
    body: uploadImageBody,
    responses: {
      ...wechatBase,
      200: ok("The media_url to use in pattern_info", res.imageUploadResponse),
      413: { description: "Body larger than API Gateway's payload limit", schema: res.gatewayErrorResponse },
    },
  },
  "GET /openapi.json": {
    operationId: "getOpenApiDocument",
    summary: "This document",
    tag: "meta",
    responses: { ...callerBase, 200: ok("OpenAPI 3.1", res.openApiDocumentResponse) },
  },
  "POST /notify/wechatpay": {
    operationId: "wechatPayNotification",
    summary: "WeChat Pay's coupon notification webhook",
    description:
      "Called by WeChat Pay, not by clients. Authenticated by WeChat's signature over the raw body (headers below, " +
      "timestamp within ±300 s), then decrypted, stored once by id and published. Any non-2xx makes WeChat deliver " +
      "again (1 min × 9).",
    tag: "webhook",
    headers: [
      { name: "Wechatpay-Signature", description: "base64 SHA256withRSA signature", required: true },
      { name: "Wechatpay-Timestamp", description: "Unix seconds", required: true },
      { name: "Wechatpay-Nonce", description: "Random string", required: true },
      { name: "Wechatpay-Serial", description: "Platform certificate serial or PUB_KEY_ID_…", required: true },
      { name: "Wechatpay-Signature-Type", description: "WECHATPAY2-SHA256-RSA2048", required: false },
      { name: "Request-ID", description: "WeChat's request id", required: false },
    ],
    body: notificationEnvelope,
    responses: {
      204: { description: "Accepted (also for a repeated delivery of a stored notification)" },
      400: { description: "Malformed notification", schema: res.webhookFailureResponse },
      401: { description: "Signature or timestamp verification failed", schema: res.webhookFailureResponse },
      500: {
        description: "Not stored (storage, publication or decryption failure): WeChat will deliver it again",
        schema: res.webhookFailureResponse,
      },
    },
  },
};

const routeKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

// ---- component names ----

const REQUEST_COMPONENTS: Array<[string, z.ZodType]> = [
  ["CreateStockRequest", createStockBody],
  ["StockCommandRequest", unwrapOptional(stockCommandBody)],
  ["SendCouponRequest", sendCouponBody],
  ["CreateCampaignRequest", createCampaignBody],
  ["CampaignChunkRequest", campaignChunkBody],
  ["SetCallbackRequest", setCallbackBody],
  ["UploadImageRequest", uploadImageBody],
  ["NotificationEnvelope", notificationEnvelope],
];

const RESPONSE_COMPONENTS: Array<[string, z.ZodType]> = [
  ["ErrorResponse", res.errorResponse],
  ["GatewayErrorResponse", res.gatewayErrorResponse],
  ["RefusalResponse", refusalResponse],
  ["WebhookFailureResponse", res.webhookFailureResponse],
  ["Stock", res.stock],
  ["Coupon", res.coupon],
  ["CreateStockResponse", res.createStockResponse],
  ["StartStockResponse", res.startStockResponse],
  ["PauseStockResponse", res.pauseStockResponse],
  ["RestartStockResponse", res.restartStockResponse],
  ["StopStockResponse", res.stopStockResponse],
  ["StockCollection", res.stockCollectionResponse],
  ["AvailableCollection", res.availableCollectionResponse],
  ["FlowResponse", res.flowResponse],
  ["SendCouponResponse", res.sendCouponResponse],
  ["CouponCollection", res.couponCollectionResponse],
  ["CouponEventsResponse", res.couponEventsResponse],
  ["CampaignAcceptedResponse", res.campaignAcceptedResponse],
  ["CampaignChunkResponse", res.campaignChunkResponse],
  ["CampaignResponse", res.campaignResponse],
  ["CampaignFailuresResponse", res.campaignFailuresResponse],
  ["SetCallbackResponse", res.setCallbackResponse],
  ["CallbackSettingsResponse", res.callbackSettingsResponse],
  ["ImageUploadResponse", res.imageUploadResponse],
  ["OpenApiDocument", res.openApiDocumentResponse],
];

// ---- public API ----

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
  /** The route's access level (shared/http/routes.ts): admin, send, read or webhook. */
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

/**
 * The zod schema of the documented response body, for tests that check real responses against the document.
 * `path` is the route template (`/stocks/{stock_id}`) or a concrete path (`/stocks/123?x=1`). Returns `undefined`
 * when the documented response has no body (204); throws when the route or the status is not documented.
 */
export function responseSchemaFor(method: string, path: string, status: number): z.ZodType | undefined {
  const route = matchRoute(method, path);
  if (!route) throw new Error(`no documented route for ${method} ${path}`);
  const doc = ROUTE_DOCS[routeKey(route.method, route.path)]!;
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

/**
 * A regex source with the `i` flag spelled out (`jpg` → `[jJ][pP][gG]`): JSON Schema patterns carry no flags, so
 * without this the document would refuse what the edge accepts. ASCII letters only; constructs it cannot rewrite
 * safely (unicode/hex escapes, named groups) throw, so a new schema cannot silently drift.
 */
export function caseInsensitivePattern(source: string): string {
  if (/\\[pPuxck]|\(\?<[^=!]/.test(source)) throw new Error(`cannot make /${source}/ case-insensitive`);
  const letter = (c: string | undefined): c is string => c !== undefined && /^[A-Za-z]$/.test(c);
  const swap = (c: string) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase());
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      out += c + (source[i + 1] ?? "");
      i++;
    } else if (!inClass) {
      if (c === "[") {
        inClass = true;
        out += c;
        if (source[i + 1] === "^") {
          out += "^";
          i++;
        }
      } else out += letter(c) ? `[${c}${swap(c)}]` : c;
    } else if (c === "]") {
      inClass = false;
      out += c;
    } else if (source[i + 1] === "-" && source[i + 2] !== undefined && source[i + 2] !== "]") {
      const end = source[i + 2]!;
      const bothLetters = letter(c) && letter(end) && (c === c.toLowerCase()) === (end === end.toLowerCase());
      out += `${c}-${end}${bothLetters ? `${swap(c)}-${swap(end)}` : ""}`;
      i += 2;
    } else out += letter(c) ? c + swap(c) : c;
  }
  return out;
}

// ---- generation ----

/** SigV4 (the IAM policy decides: CallerPolicy or AdminPolicy), or a JWT holding one of the route's scopes. */
const securityOf = (route: RouteDefinition): Array<Record<string, string[]>> =>
  route.auth === "public" ? [] : [{ awsSigV4: [] }, { bearerAuth: [...scopesOf(route)] }];

function generate(): OpenApiDocument {
  for (const route of ROUTES) {
    if (!ROUTE_DOCS[routeKey(route.method, route.path)]) throw new Error(`openapi: no documentation for ${route.path}`);
  }
  const requestIds = new Map(REQUEST_COMPONENTS.map(([id, schema]) => [schema, id]));
  const responseIds = new Map(RESPONSE_COMPONENTS.map(([id, schema]) => [schema, id]));
  const schemas = {
    ...componentSchemas(REQUEST_COMPONENTS, "input"),
    ...componentSchemas(RESPONSE_COMPONENTS, "output"),
  };
  const ref = (ids: Map<z.ZodType, string>, schema: z.ZodType): JsonSchema => {
    const id = ids.get(schema);
    if (!id) throw new Error("openapi: a documented schema has no component name");
    return { $ref: `#/components/schemas/${id}` };
  };

  const paths: OpenApiDocument["paths"] = {};
  for (const route of ROUTES) {
    const doc = ROUTE_DOCS[routeKey(route.method, route.path)]!;
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
            ...(r.schema ? { content: { "application/json": { schema: ref(responseIds, r.schema) } } } : {}),
          },
        ]),
      ),
    };
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "wxcoupon",
      version: VERSION,
      description:
        "WeChat Pay cash coupons (APIv3 /v3/marketing/favor) as a service: stocks, idempotent coupon sends, bulk " +
        "campaigns and the COUPON.USE notification webhook. Amounts are integers in fen; times are RFC 3339. " +
        "Idempotent POSTs take your out_request_no / campaign_id: reuse it on every retry.",
    },
    tags: [
      { name: "stocks", description: "WeChat stocks (coupon batches)" },
      { name: "coupons", description: "Sending coupons and reading them back" },
      { name: "campaigns", description: "Bulk sends, processed asynchronously" },
      { name: "callbacks", description: "The merchant's notification URL at WeChat" },
      { name: "media", description: "Marketing images" },
      { name: "meta", description: "This document" },
      { name: "webhook", description: "Called by WeChat Pay" },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        awsSigV4: {
          type: "apiKey",
          in: "header",
          name: "Authorization",
          description:
            "Deployed with IAM authorization (the default): sign every request with AWS Signature Version 4 " +
            "(service `execute-api`), which sets `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, " +
            "Signature=…`, `X-Amz-Date` and, for temporary credentials, `X-Amz-Security-Token`. OpenAPI has no " +
            "SigV4 scheme, so it is declared as an Authorization header; it is not a static key. The caller needs " +
            "`execute-api:Invoke` on the route: the stack's CallerPolicy (send and read routes) or AdminPolicy " +
            "(admin and read routes; `x-wxcoupon-access` on each operation).",
        },
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "Deployed with a JWT authorizer: `Authorization: Bearer <JWT>` from the configured issuer and audience, " +
            "holding one of the scopes each operation lists (wxcoupon/admin, wxcoupon/send, wxcoupon/read). Local " +
            "stack (`npm start`): `Authorization: Bearer <token>` with a token it prints at start-up (`token`: every " +
            "route; `send_token`: send and read routes).",
        },
      },
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
    override: spellOutCaseInsensitivePatterns,
  }) as { schemas: Record<string, JsonSchema> };
  if (schemas["__shared"]) throw new Error("openapi: unnamed shared schemas; give them a component name");
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, tidy(schema) as JsonSchema]));
}

/** One OpenAPI parameter per property of a path or query object schema. */
function objectParameters(schema: z.ZodObject | undefined, where: "path" | "query") {
  if (!schema) return [];
  const json = tidy(
    z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", override: spellOutCaseInsensitivePatterns }),
  ) as { properties?: Record<string, JsonSchema>; required?: string[] };
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

const PARAMETER_DESCRIPTIONS: Record<string, string> = {
  stock_id: "WeChat stock (batch) id",
  coupon_id: "WeChat coupon id",
  openid: "User's openid under the appid",
  campaign_id: "Campaign id (yours, or the one POST /campaigns returned)",
  cursor: "The cursor of the previous page",
  offset: "Offset from 0 (for GET /stocks WeChat documents it as a page index)",
  limit: "Page size",
  stock_creator_mchid: "Creator merchant; defaults to the configured merchant",
  create_start_time: "Created at or after (RFC 3339)",
  create_end_time: "Created before (RFC 3339)",
  status: "Filter by status",
  appid: "Defaults to the merchant's configured appid",
  creator_mchid: "Coupons of stocks this merchant created",
  sender_mchid: "Coupons this merchant sent",
  available_mchid: "Coupons usable at this merchant (WeChat then ignores stock_id, status, offset and limit)",
};

type OverrideContext = { zodSchema: unknown; jsonSchema: Record<string, unknown> };

/** zod override hook: rewrites patterns whose regex has the `i` flag (JSON Schema patterns have no flags). */
function spellOutCaseInsensitivePatterns(ctx: OverrideContext): void {
  const def = (ctx.zodSchema as { _zod: { def: { checks?: Array<{ _zod: { def: { pattern?: unknown } } }> } } })._zod
    .def;
  for (const check of def.checks ?? []) {
    const pattern = check._zod.def.pattern;
    if (!(pattern instanceof RegExp) || !pattern.flags.includes("i")) continue;
    const holders = [ctx.jsonSchema, ...((ctx.jsonSchema.allOf as Array<Record<string, unknown>>) ?? [])];
    const holder = holders.find((h) => h.pattern === pattern.source);
    if (!holder) throw new Error(`openapi: pattern /${pattern.source}/i not found in the JSON schema`);
    holder.pattern = caseInsensitivePattern(pattern.source);
  }
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
