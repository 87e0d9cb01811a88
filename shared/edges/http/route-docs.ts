import * as z from "zod";
import * as res from "./response-schemas.js";
import {
  callbackQuery,
  campaignChunkBody,
  campaignCouponsQuery,
  campaignExportPath,
  campaignFailuresQuery,
  campaignIdPath,
  couponDetailQuery,
  couponIdPath,
  createCampaignBody,
  createExportBody,
  createReconciliationBody,
  itemsQuery,
  listCampaignsQuery,
  listStocksQuery,
  merchantsQuery,
  openidPath,
  reconciliationFindingsQuery,
  reconciliationIdPath,
  retryCampaignBody,
  sendCouponBody,
  setCallbackBody,
  stockCommandBody,
  stockDetailQuery,
  stockIdPath,
  uploadImageBody,
  userCouponPath,
  userCouponsQuery,
  webhookTestBody,
} from "./schemas.js";
import { createStockBody } from "./stock-schemas.js";

/**
 * What the OpenAPI document says about each route, as data: one entry per row of ROUTES (routes.ts), naming the zod
 * schemas of its parameters, body and responses. openapi.ts turns this table into the document; tests read it to
 * check real responses against the documented schema (test/helpers/documented-responses.ts).
 */

/** Document-level text: the info block, the tags routes are grouped by, the security schemes of caller routes. */
export const DOCUMENT_DESCRIPTION =
  "WeChat Pay cash coupons (APIv3 /v3/marketing/favor) as a service: stocks, idempotent coupon sends, bulk " +
  "campaigns and the COUPON.USE notification webhook. Amounts are integers in fen; times are RFC 3339. " +
  "Idempotent POSTs take your out_request_no / campaign_id: reuse it on every retry.";

export const TAGS = {
  stocks: "WeChat stocks (coupon batches)",
  coupons: "Sending coupons and reading them back",
  campaigns: "Bulk sends, processed asynchronously",
  callbacks: "The merchant's notification URL at WeChat",
  events: "The service's events: signed HTTP forwarding",
  media: "Marketing images",
  reconciliations: "Reconciliation with WeChat's use and refund flow files",
  meta: "This document",
  webhook: "Called by WeChat Pay",
} as const;

export const SECURITY_SCHEMES = {
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
} as const;

/** Descriptions of path and query parameters whose zod schema has none (`.describe()` wins where present). */
export const PARAMETER_DESCRIPTIONS: Readonly<Record<string, string>> = {
  stock_id: "WeChat stock (batch) id",
  coupon_id: "WeChat coupon id",
  openid: "User's openid under the appid",
  campaign_id: "Campaign id (yours, or the one POST /campaigns returned)",
  cursor: "The cursor of the previous page",
  offset: "Page index from 0 (WeChat: 分页页码); the page starts at offset × limit",
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

interface ResponseDoc {
  description: string;
  /** Absent: the response has no body (204). */
  schema?: z.ZodType;
  /** The body's media type; default application/json. */
  mediaType?: string;
  retryAfter?: boolean;
}

interface HeaderDoc {
  name: string;
  description: string;
  required: boolean;
}

export interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: keyof typeof TAGS;
  path?: z.ZodObject;
  query?: z.ZodObject;
  headers?: HeaderDoc[];
  /** A `ZodOptional` body is documented as optional. */
  body?: z.ZodType;
  responses: Record<number, ResponseDoc>;
}

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
// docs/wechatpay-cash-coupons.md#when-the-files-exist
const FLOW_DESCRIPTION =
  "Fetches WeChat's download link, streams the CSV while checking its SHA-1 and 总条数, and returns the rows. WeChat " +
  "serves the file from 10:00 (Beijing) the day after the stock's available_end_time.";
const flowNotFound: ResponseDoc = {
  description:
    "Unknown stock, or WeChat has no file (RESOURCE_NOT_EXISTS 账单文件不存在): too early, or nothing to list",
  schema: res.errorResponse,
};
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

/** The stock pre-flight's refusal (create and resume; shared/domain/stocks/stock-check.ts). */
const stockUnavailable: ResponseDoc = {
  description:
    "The stock cannot serve the campaign (field stock_id; WeChat Pay was asked): STOCK_NOT_FOUND (no such stock of " +
    "this merchant), STOCK_NOT_OWNED, STOCK_NOT_RUNNING (paused, stopped, or never started while not scheduled), " +
    "STOCK_NOT_STARTED (its available_begin_time is after start_at, or after now: schedule with start_at), " +
    "STOCK_EXPIRED (its available_end_time is before now or start_at), STOCK_BUDGET_INSUFFICIENT (max_coupons − " +
    "distributed_coupons is below the recipients left; above 0 for a chunked campaign whose recipients are not " +
    "known yet), STOCK_CHECK_REFUSED (WeChat refused the stock query with another code). Nothing was stored",
  schema: res.errorResponse,
};

/** The pre-flight's stock query failed: WeChat's answer decides nothing, retry. */
const stockCheckFailed: Record<number, ResponseDoc> = {
  502: wechatBase[502]!,
  503: {
    description:
      "WeChat Pay did not answer the stock query (5xx, timeout, 429), or the send queue is unavailable " +
      "(QUEUE_UNAVAILABLE): nothing was refused; retry the same request after Retry-After",
    schema: res.errorResponse,
    retryAfter: true,
  },
};

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

/** Keyed `METHOD /path` as in ROUTES; openapi.ts refuses a route without an entry and an entry without a route. */
export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
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
    description: FLOW_DESCRIPTION,
    tag: "stocks",
    path: stockIdPath,
    responses: { ...wechatBase, 200: ok("The flow's rows", res.useFlowResponse), 404: flowNotFound },
  },
  "GET /stocks/{stock_id}/refund-flow": {
    operationId: "getStockRefundFlow",
    summary: "Refund flow of a stock",
    description: FLOW_DESCRIPTION,
    tag: "stocks",
    path: stockIdPath,
    responses: { ...wechatBase, 200: ok("The flow's rows", res.refundFlowResponse), 404: flowNotFound },
  },
  "POST /coupons": {
    operationId: "sendCoupon",
    summary: "Send one coupon to a user",
    description:
      "Idempotent on out_request_no: reuse it on every retry and the same coupon_id comes back (replayed: true). " +
      "A 503 means the outcome is not known yet: retry with the same out_request_no. A refusal for the stock " +
      "rather than the user (not running, not started yet, budget exhausted for now) is a 409 that is not stored: " +
      "the same out_request_no may succeed once the stock serves again. So is a refusal of the merchant (403 " +
      "MERCHANT_NOT_PERMITTED, APPID_NOT_BOUND; 502 WECHATPAY_AUTH_FAILED for its signature): it succeeds once the " +
      "merchant's permission, appid or key is fixed.",
    tag: "coupons",
    body: sendCouponBody,
    responses: {
      ...wechatBase,
      200: ok("The coupon WeChat issued", res.sendCouponResponse),
      403: {
        description:
          "WeChat refused the merchant rather than the user, nothing stored: MERCHANT_NOT_PERMITTED (NO_AUTH, " +
          "REQUEST_BLOCKED or INVALID_REQUEST for the merchant, MCH_NOT_EXISTS) or APPID_NOT_BOUND (APPID_MCHID_NOT_MATCH, field " +
          "appid); or a stored refusal about the user (RULE_LIMIT, USER_ACCOUNT_ABNORMAL, REQUEST_BLOCKED 用户被限领拦截, " +
          "NOT_ENOUGH with the budget used up), or the IAM authorizer denied the request",
        schema: refusalResponse,
      },
      404: notFound("Stock"),
      409: {
        description:
          `${conflictOrInProgress.description}; or WeChat refused the send for its stock, nothing stored (field ` +
          "stock_id): STOCK_NOT_RUNNING (paused, stopped, ended), STOCK_NOT_STARTED (before available_begin_time; " +
          "Retry-After says when it begins), STOCK_BUDGET_EXHAUSTED (NOT_ENOUGH while the count budget is not used " +
          "up: a daily budget, or WeChat's early exhaustion). A NOT_ENOUGH with the budget used up is final (403)",
        schema: res.errorResponse,
        retryAfter: true,
      },
      422: storedRefusal,
      429: {
        description:
          "WeChat Pay's rate limit (RATE_LIMITED), or the merchant's send budget, shared with running campaigns, " +
          "spent for the moment (SEND_BUDGET_EXHAUSTED): nothing was sent and nothing final recorded; retry after " +
          "Retry-After with the same out_request_no",
        schema: refusalResponse,
        retryAfter: true,
      },
    },
  },
  "GET /coupons/{coupon_id}": {
    operationId: "getCouponLifecycle",
    summary: "A coupon's state and history, as this service recorded it",
    description:
      "Read from the service's own store (WeChat's view of a user's coupon is GET /users/{openid}/coupons/{coupon_id}): " +
      "SENT when issued, USED from COUPON.USE, REFUNDED when returned, EXPIRED once the stock's available_end_time " +
      "has passed unused (the stock's end time is asked of WeChat once per container, for SENT coupons only; the " +
      "expiry is recorded in the history, and coupon.expired published, by the stock's reconciliation run). A coupon " +
      "WeChat reported but this service did not issue has issued_by_service false.",
    tag: "coupons",
    path: couponIdPath,
    responses: {
      ...wechatBase,
      400: invalid,
      200: ok("The coupon's lifecycle", res.couponLifecycleResponse),
      404: notFound("Coupon"),
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
      "request is a 409. start_at schedules it: messages are queued now and held until then (state SCHEDULED); a " +
      "replay after start_at answers as stored. A new campaign's stock is checked with WeChat Pay first (422 names " +
      "the problem); a replay is answered as stored without the check. Follow progress with GET " +
      "/campaigns/{campaign_id}.",
    tag: "campaigns",
    body: createCampaignBody,
    responses: {
      ...callerBase,
      ...stockCheckFailed,
      400: {
        description:
          "Invalid request: `field` names the parameter (INVALID_ARGUMENT…); start_at in the past " +
          "(START_AT_IN_PAST) or more than 30 days ahead (START_AT_TOO_FAR)",
        schema: res.errorResponse,
      },
      202: ok("Accepted", res.campaignAcceptedResponse),
      409: conflict,
      422: stockUnavailable,
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
          "was the last), CAMPAIGN_NOT_CHUNKED (the campaign was created with its openids), CAMPAIGN_CANCELLED",
        schema: res.errorResponse,
      },
      503: queueUnavailable,
    },
  },
  "GET /campaigns": {
    operationId: "listCampaigns",
    summary: "The merchant's campaigns, newest first",
    description:
      "Paged with an opaque cursor (pass it back with the same filters; a cursor of another list is a 400). " +
      "Filters: state (at the time of the request) and stock_id. With a filter at most 500 campaigns are read per " +
      "page, so a page may hold fewer than limit, even none, while a cursor is present: follow cursors until there " +
      "is none. Eventually consistent (read from an index); counters as last written (GET " +
      "/campaigns/{campaign_id} recounts a campaign that claims completion).",
    tag: "campaigns",
    query: listCampaignsQuery,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("One page of campaigns", res.campaignListResponse),
    },
  },
  "POST /campaigns/{campaign_id}/pause": {
    operationId: "pauseCampaign",
    summary: "Pause a campaign",
    description:
      "No send starts after the pause is acknowledged: the answer comes once every worker that read the campaign " +
      "before the pause has started its send (about 1.5 s). A send already started may finish and be counted. The " +
      "campaign's queued messages are held (not sent, not failed) until POST …/resume or …/cancel. Pausing a " +
      "paused campaign answers changed: false.",
    tag: "campaigns",
    path: campaignIdPath,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("Paused (state PAUSED, state_reason paused)", res.campaignControlResponse),
      404: notFound("Campaign"),
      409: {
        description: "CAMPAIGN_COMPLETED (every recipient has its outcome) or CAMPAIGN_CANCELLED",
        schema: res.errorResponse,
      },
    },
  },
  "POST /campaigns/{campaign_id}/resume": {
    operationId: "resumeCampaign",
    summary: "Resume a paused campaign",
    description:
      "Held messages flow again as they come back from their hold (at most 5 minutes after a long pause). " +
      "Resuming a running campaign answers changed: false; a scheduled campaign still waits for its start_at. " +
      "A paused campaign's stock is checked with WeChat Pay first, for the recipients not yet sent (422 names the " +
      "problem; the campaign stays PAUSED), whether an operator paused it or the service did (state_reason " +
      "stock_not_running, stock_budget_exhausted). The stock query is signed with the merchant's key: a key WeChat " +
      "still refuses (credentials_refused) answers 502 and the campaign stays PAUSED. For merchant_not_permitted and " +
      "appid_not_bound no query tells whether WeChat still refuses the merchant: the campaign resumes, and its next " +
      "send pauses it again, nothing recorded, if WeChat does.",
    tag: "campaigns",
    path: campaignIdPath,
    responses: {
      ...callerBase,
      ...stockCheckFailed,
      400: invalid,
      200: ok("Running again", res.campaignControlResponse),
      404: notFound("Campaign"),
      409: {
        description: "CAMPAIGN_COMPLETED or CAMPAIGN_CANCELLED (a cancel is final)",
        schema: res.errorResponse,
      },
      422: stockUnavailable,
    },
  },
  "POST /campaigns/{campaign_id}/cancel": {
    operationId: "cancelCampaign",
    summary: "Cancel a campaign",
    description:
      "Final. No send starts after the cancel is acknowledged; every recipient not yet sent is recorded CANCELLED " +
      "(never sent, counted in cancelled) as its message comes by, and the campaign ends COMPLETED with " +
      "state_reason cancelled and exact counters. A send that had already started is finished under its " +
      "out_request_no (SENT or FAILED, as WeChat decided). An open chunked campaign takes no more chunks and is " +
      "sealed with the recipients received so far. Cancelling a cancelled campaign answers changed: false.",
    tag: "campaigns",
    path: campaignIdPath,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("Cancelled (state CANCELLING, then COMPLETED)", res.campaignControlResponse),
      404: notFound("Campaign"),
      409: { description: "CAMPAIGN_COMPLETED: nothing left to cancel", schema: res.errorResponse },
    },
  },
  "POST /campaigns/{campaign_id}/retry": {
    operationId: "retryCampaign",
    summary: "Send a completed campaign's failures of chosen codes again, as a new campaign",
    description:
      "The retry is a chunked campaign of the same stock, appid and rate (pause, resume, cancel, progress and the " +
      "failures list work on it as on any campaign), with its own out_request_nos: its id derives from (campaign, " +
      "attempt, codes), and each recipient's key from (retry, chunk, openid). It takes the recipients whose final " +
      "failure code is one of codes (never CANCELLED ones), page by page: each request adds a bounded number of " +
      "pages and answers filling_complete; call again with the same codes until it is true (a repeat after that " +
      "adds nothing). Each failed recipient is in at most one retry of a campaign: codes retried before by another " +
      "retry are a 409 (retry that campaign instead: its failures make a retry of the retry), and another retry " +
      "waits until this one is filled (a cancelled retry no longer blocks; its codes stay taken, so cancelling a " +
      "retry is final for its recipients too). The campaign lists its retries (retries), a retry names its " +
      "campaign (retry_of).",
    tag: "campaigns",
    path: campaignIdPath,
    body: retryCampaignBody,
    responses: {
      ...callerBase,
      400: invalid,
      202: ok("The retry, created, continued or replayed", res.campaignRetryResponse),
      404: notFound("Campaign"),
      409: {
        description:
          "CAMPAIGN_NOT_COMPLETED (only a COMPLETED campaign can be retried), NO_FAILURES_TO_RETRY (no recipient " +
          "failed with those codes), RETRY_CODES_OVERLAP (some codes were retried by another retry of this " +
          "campaign), RETRY_IN_PROGRESS (another retry is still being filled); field codes or campaign_id",
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
  "GET /campaigns/{campaign_id}/coupons": {
    operationId: "listCampaignCoupons",
    summary: "A campaign's coupons with their state, page by page",
    description:
      "Filters: state (EXPIRED lists the unused coupons once the stock's window has passed), used_from/used_to (time " +
      "of first use, implying state=USED). Eventually consistent (read from an index).",
    tag: "campaigns",
    path: campaignIdPath,
    query: campaignCouponsQuery,
    responses: {
      ...wechatBase,
      400: invalid,
      200: ok("One page of coupons", res.campaignCouponsResponse),
      404: notFound("Campaign"),
    },
  },
  "GET /campaigns/{campaign_id}/report": {
    operationId: "getCampaignReport",
    summary: "A campaign's sends and uses: redemption, amount, time to use, uses by day",
    description:
      "Read from two items (the campaign and its use totals) whatever the campaign's size. Uses are counted once " +
      "each, when COUPON.USE arrives (or the send is recorded, if the use came first).",
    tag: "campaigns",
    path: campaignIdPath,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("The report", res.campaignReportResponse),
      404: notFound("Campaign"),
    },
  },
  "POST /campaigns/{campaign_id}/exports": {
    operationId: "startCampaignExport",
    summary: "Export a campaign's coupons or failures as a CSV file",
    description:
      "Answers 202 with an export_id at once; the export function writes the file (streamed into a multipart " +
      "object, page by page, over as many invocations as it takes), then GET …/exports/{export_id} gives a " +
      "download_url. The same request within 15 minutes answers the same export (replayed: true), unless it failed. " +
      "CSV columns (RFC 4180, header first): coupons: coupon_id,openid,out_request_no,stock_id,state,sent_at," +
      "used_at,used_amount,coupon_amount,transaction_ids,consume_mchid,refunded_at; failures: openid," +
      "out_request_no,code,message,attempts,failed_at. Files are deleted after 7 days.",
    tag: "campaigns",
    path: campaignIdPath,
    body: createExportBody,
    responses: {
      ...wechatBase,
      400: invalid,
      202: ok("The export, started or replayed", res.campaignExportResponse),
      404: notFound("Campaign"),
      503: {
        description: "The export queue is unavailable (QUEUE_UNAVAILABLE): retry the same request",
        schema: res.errorResponse,
        retryAfter: true,
      },
    },
  },
  "GET /campaigns/{campaign_id}/exports/{export_id}": {
    operationId: "getCampaignExport",
    summary: "An export's progress, and its download link once written",
    tag: "campaigns",
    path: campaignExportPath,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("The export", res.campaignExportResponse),
      404: notFound("Campaign or export"),
    },
  },
  "POST /reconciliations": {
    operationId: "createReconciliation",
    summary: "Reconcile a stock's coupon records with WeChat's use and refund flow files",
    description:
      "Creates a run and answers at once; the reconcile function's next scheduled invocation (every minute) reads " +
      "the flows, streaming, and records every use WeChat has that the service lacks (USED, found by reconciliation, " +
      "counted once in its campaign) and every refund (REFUNDED), then records the stock's coupons still unused " +
      "EXPIRED (one coupon.expired each). A second run changes nothing. The same job runs " +
      "by itself for every stock this service issued coupons of, once WeChat serves its files (10:00 Beijing the " +
      "day after the stock ends). A run started before then ends FAILED with FLOWS_NOT_AVAILABLE.",
    tag: "reconciliations",
    body: createReconciliationBody,
    responses: {
      ...wechatBase,
      400: invalid,
      202: ok("The run, RUNNING (Location: its URL)", res.reconciliationResponse),
      404: notFound("Stock"),
    },
  },
  "GET /reconciliations/{reconciliation_id}": {
    operationId: "getReconciliation",
    summary: "A reconciliation run: status, rows read, findings by kind, coupons expired",
    tag: "reconciliations",
    path: reconciliationIdPath,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("The run", res.reconciliationResponse),
      404: notFound("Reconciliation"),
    },
  },
  "GET /reconciliations/{reconciliation_id}/findings": {
    operationId: "listReconciliationFindings",
    summary: "A run's findings, page by page (by kind, then coupon)",
    description: "Eventually consistent (read from an index). Follow cursors until there is none.",
    tag: "reconciliations",
    path: reconciliationIdPath,
    query: reconciliationFindingsQuery,
    responses: {
      ...callerBase,
      400: invalid,
      200: ok("One page of findings", res.reconciliationFindingsResponse),
      404: notFound("Reconciliation"),
    },
  },
  "GET /reconciliations/{reconciliation_id}/findings.csv": {
    operationId: "exportReconciliationFindings",
    summary: "A run's findings as CSV, page by page",
    description:
      "The same pages as /findings (up to `limit` rows each, 10,000 at most, well inside Lambda's response size), " +
      "as CSV with a header line; the next page's cursor is in X-Next-Cursor.",
    tag: "reconciliations",
    path: reconciliationIdPath,
    query: reconciliationFindingsQuery,
    responses: {
      ...callerBase,
      400: invalid,
      200: { description: "One page of findings as CSV", schema: res.reconciliationFindingsCsv, mediaType: "text/csv" },
      404: notFound("Reconciliation"),
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
  "POST /webhooks/test": {
    operationId: "sendTestEvent",
    summary: "Send a signed test event to every HTTP event consumer",
    description:
      "Queues a `webhook.test` event for the event forwarder, which POSTs it to each URL of `eventForwardUrls`, signed " +
      "like every event (`Wxcoupon-Signature`), retried and dead-lettered the same way. Other subscribers of the bus do " +
      "not see it. Answers once the test is queued, not delivered.",
    tag: "events",
    body: webhookTestBody,
    responses: { ...callerBase, 400: invalid, 202: ok("Queued for the consumers", res.webhookTestResponse) },
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
      "again (once a minute, nine deliveries in all).",
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

/**
 * Component names. Each schema a route references must appear here: requests are documented as the edge accepts
 * them (zod's `io: "input"`), responses as handlers produce them (`io: "output"`).
 */
export const REQUEST_COMPONENTS: Array<[string, z.ZodType]> = [
  ["CreateStockRequest", createStockBody],
  ["StockCommandRequest", stockCommandBody.unwrap()],
  ["SendCouponRequest", sendCouponBody],
  ["CreateCampaignRequest", createCampaignBody],
  ["CreateReconciliationRequest", createReconciliationBody],
  ["CampaignChunkRequest", campaignChunkBody],
  ["RetryCampaignRequest", retryCampaignBody],
  ["CreateExportRequest", createExportBody],
  ["SetCallbackRequest", setCallbackBody],
  ["UploadImageRequest", uploadImageBody],
  ["WebhookTestRequest", webhookTestBody.unwrap()],
  ["NotificationEnvelope", notificationEnvelope],
];

export const RESPONSE_COMPONENTS: Array<[string, z.ZodType]> = [
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
  ["UseFlowResponse", res.useFlowResponse],
  ["RefundFlowResponse", res.refundFlowResponse],
  ["SendCouponResponse", res.sendCouponResponse],
  ["CouponCollection", res.couponCollectionResponse],
  ["CouponEventsResponse", res.couponEventsResponse],
  ["CouponLifecycleResponse", res.couponLifecycleResponse],
  ["CampaignAcceptedResponse", res.campaignAcceptedResponse],
  ["CampaignChunkResponse", res.campaignChunkResponse],
  ["CampaignResponse", res.campaignResponse],
  ["CampaignFailuresResponse", res.campaignFailuresResponse],
  ["CampaignCouponsResponse", res.campaignCouponsResponse],
  ["CampaignReportResponse", res.campaignReportResponse],
  ["CampaignExportResponse", res.campaignExportResponse],
  ["ReconciliationResponse", res.reconciliationResponse],
  ["ReconciliationFindingsResponse", res.reconciliationFindingsResponse],
  ["ReconciliationFindingsCsv", res.reconciliationFindingsCsv],
  ["CampaignListResponse", res.campaignListResponse],
  ["CampaignControlResponse", res.campaignControlResponse],
  ["CampaignRetryResponse", res.campaignRetryResponse],
  ["SetCallbackResponse", res.setCallbackResponse],
  ["CallbackSettingsResponse", res.callbackSettingsResponse],
  ["ImageUploadResponse", res.imageUploadResponse],
  ["WebhookTestResponse", res.webhookTestResponse],
  ["OpenApiDocument", res.openApiDocumentResponse],
];
