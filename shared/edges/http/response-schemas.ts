import * as z from "zod";

/**
 * Response bodies of the HTTP API. Handlers type their bodies with `z.infer`, tests `parse` real responses with them
 * (see `responseSchemaFor` in test/helpers/documented-responses.ts), and the OpenAPI document is generated from them.
 *
 * Bodies this service composes are strict (an unexpected field is a contract change). Bodies that carry WeChat's
 * models (Stock, Coupon, their collections, the stock-command and callback answers) are loose: WeChat adds fields
 * without notice and they pass through.
 */

const rfc3339 = () => z.iso.datetime({ offset: true }).describe("RFC 3339 time");
const count = () => z.number().int().min(0);

// ---- errors ----

/** Every 4xx/5xx the service itself answers on the caller routes (shared/edges/http/error-response.ts). */
export const errorResponse = z.strictObject({
  code: z.string().describe("Stable machine-readable code: INVALID_ARGUMENT, OUT_REQUEST_NO_CONFLICT, WeChat's code…"),
  message: z.string().describe("Human-readable; for 4xx it names the field"),
  field: z.string().optional().describe("The offending field, JSON-path style (stock_use_rule.max_amount)"),
  request_id: z.string().describe("API Gateway request id: quote it when reporting a problem"),
  out_request_no: z.string().optional().describe("On a stored refusal of POST /coupons or POST /stocks"),
  replayed: z.boolean().optional().describe("On a stored refusal: true when an earlier request had the outcome"),
});

/**
 * Refusals produced in front of the function: API Gateway's authorizer (401 JWT, 403 IAM: `{"message": …}`),
 * throttling (429) or payload limit (413), and the local stack's stand-ins (`{code, message}`).
 */
export const gatewayErrorResponse = z.looseObject({
  message: z.string(),
  code: z.string().optional(),
});

/** The webhook's failure body, in WeChat's format: any non-2xx makes WeChat deliver again (once a minute, nine in all). */
export const webhookFailureResponse = z.strictObject({
  code: z.literal("FAIL"),
  message: z.string(),
});

// ---- WeChat models (docs/wechatpay-cash-coupons.md: stocks E7/E8, coupons E9/E12) ----

const fixedNormalCoupon = z.looseObject({ coupon_amount: z.number().int(), transaction_minimum: z.number().int() });
const cutToMessage = z.looseObject({ single_price_max: z.number().int(), cut_to_price: z.number().int() });

/** Required fields as in GO's models (docs/wechatpay-cash-coupons.md#required-answer-fields). */
export const stockUseRule = z.looseObject({
  max_coupons: z.number().int(),
  max_amount: z.number().int(),
  max_amount_by_day: z.number().int(),
  fixed_normal_coupon: fixedNormalCoupon.optional(),
  max_coupons_per_user: z.number().int(),
  coupon_type: z.string().optional(),
  goods_tag: z.array(z.string()).optional(),
  trade_type: z.array(z.string()).optional(),
  combine_use: z.boolean().optional(),
});

export const stock = z.looseObject({
  stock_id: z.string(),
  stock_creator_mchid: z.string(),
  stock_name: z.string(),
  status: z.enum(["unactivated", "audit", "running", "stoped", "paused"]).describe("WeChat's spelling: stoped"),
  create_time: rfc3339(),
  description: z.string(),
  stock_use_rule: stockUseRule.optional(),
  available_begin_time: rfc3339(),
  available_end_time: rfc3339(),
  distributed_coupons: count(),
  no_cash: z.boolean(),
  start_time: rfc3339().optional(),
  stop_time: rfc3339().optional(),
  cut_to_message: cutToMessage.optional(),
  singleitem: z.boolean(),
  stock_type: z.enum(["NORMAL", "DISCOUNT_CUT", "OTHER"]),
  card_id: z.string().optional(),
  business_type: z.string().optional(),
});

export const coupon = z.looseObject({
  coupon_id: z.string().optional().describe("Present in WeChat's current answers (OAS); absent in older SDK models"),
  stock_creator_mchid: z.string(),
  stock_id: z.string(),
  cut_to_message: cutToMessage.optional(),
  coupon_name: z.string(),
  status: z.enum(["SENDED", "USED", "EXPIRED"]),
  description: z.string(),
  create_time: rfc3339().describe("When the user received the coupon"),
  coupon_type: z.enum(["NORMAL", "CUT_TO"]),
  no_cash: z.boolean(),
  available_begin_time: rfc3339(),
  available_end_time: rfc3339(),
  singleitem: z.boolean(),
  normal_coupon_information: fixedNormalCoupon.optional(),
  consume_information: z.looseObject({}).optional(),
});

// ---- stocks ----

export const createStockResponse = z.strictObject({
  stock_id: z.string(),
  create_time: rfc3339(),
  out_request_no: z.string(),
  replayed: z.boolean().describe("true: this out_request_no had created the stock before; nothing new was created"),
});

export const startStockResponse = z.looseObject({ stock_id: z.string(), start_time: rfc3339() });
export const pauseStockResponse = z.looseObject({ stock_id: z.string(), pause_time: rfc3339() });
export const restartStockResponse = z.looseObject({ stock_id: z.string(), restart_time: rfc3339() });
export const stopStockResponse = z.looseObject({ stock_id: z.string(), stop_time: rfc3339() });

export const stockCollectionResponse = z.looseObject({
  total_count: count(),
  limit: count(),
  offset: count(),
  data: z.array(stock).optional().describe("WeChat omits it when there is no stock"),
});

/** `GET /stocks/{stock_id}/merchants` (mchids) and `/items` (goods codes). */
export const availableCollectionResponse = z.looseObject({
  total_count: count(),
  data: z.array(z.string()).optional().describe("WeChat omits it when empty"),
  offset: count(),
  limit: count(),
  stock_id: z.string(),
});

const fen = () => z.number().int().min(0).describe("fen");
const flowText = () => z.string();

/** One use-flow record (docs/wechatpay-cash-coupons.md#file-format), typed: amounts in fen, times RFC 3339. */
export const useFlowRow = z.strictObject({
  stock_id: flowText().describe("批次id"),
  coupon_id: flowText().describe("优惠id"),
  coupon_type: flowText().describe("优惠类型, e.g. 全场代金券"),
  coupon_amount: fen().describe("优惠金额, in fen"),
  order_amount: fen().describe("订单总金额, in fen"),
  trade_type: flowText().describe("交易类型, e.g. 支付"),
  transaction_id: flowText().describe("支付单号: WeChat's transaction id"),
  consume_time: rfc3339().describe("消耗时间"),
  consume_mchid: flowText().describe("消耗商户号"),
  device_no: flowText().describe("设备号"),
  bank_serial_no: flowText().describe("银行流水号"),
  goods_info: flowText().describe("单品信息"),
});

/** One refund-flow record (its layout is not documented by WeChat: docs/wechatpay-cash-coupons.md#refund-flow-file-format). */
export const refundFlowRow = z.strictObject({
  stock_id: flowText(),
  coupon_id: flowText(),
  coupon_type: flowText(),
  coupon_amount: fen(),
  order_amount: fen(),
  trade_type: flowText(),
  transaction_id: flowText(),
  refund_time: rfc3339(),
  refund_mchid: flowText(),
  refund_id: flowText(),
  refund_amount: fen(),
  device_no: flowText(),
  bank_serial_no: flowText(),
  goods_info: flowText(),
});

const flowAnswer = <Row extends z.ZodType>(row: Row) =>
  z.strictObject({
    hash_value: z.string().describe("SHA-1 (hex) of the file WeChat served, checked while it streamed"),
    hash_type: z.string().describe("SHA1"),
    columns: z.array(z.string()).describe("WeChat's column titles, in file order"),
    rows: z.array(row).describe("One object per record of the file"),
    total_count: count().describe("Records in the file; equal to its 总条数 summary"),
  });

/** `GET /stocks/{stock_id}/use-flow`: the downloaded, SHA-1-checked file as typed rows. */
export const useFlowResponse = flowAnswer(useFlowRow);
/** `GET /stocks/{stock_id}/refund-flow`. */
export const refundFlowResponse = flowAnswer(refundFlowRow);

// ---- coupons ----

export const sendCouponResponse = z.strictObject({
  coupon_id: z.string(),
  out_request_no: z.string(),
  replayed: z.boolean().describe("true: this out_request_no had been sent before; the same coupon_id is returned"),
});

export const couponCollectionResponse = z.looseObject({
  data: z.array(coupon).optional().describe("WeChat omits it when there is no coupon"),
  total_count: count(),
  limit: count(),
  offset: count(),
});

export const couponEvent = z.strictObject({
  id: z.string().describe("WeChat's notification id (the de-duplication key)"),
  event_type: z.string().describe("COUPON.USE"),
  coupon_id: z.string(),
  stock_id: z.string(),
  create_time: z.string().describe("WeChat's create_time, as sent (RFC 3339)"),
  received_at: rfc3339().describe("When the webhook accepted it"),
  resource: z.record(z.string(), z.unknown()).describe("The decrypted notification resource (COUPON.USE)"),
});

export const couponEventsResponse = z.strictObject({
  data: z.array(couponEvent).describe("Oldest first; empty when no notification was received for the coupon"),
});

const couponState = () =>
  z
    .enum(["SENT", "USED", "REFUNDED", "EXPIRED"])
    .describe(
      "SENT (issued, unused), USED (WeChat reported a use), REFUNDED (the use was returned), EXPIRED (unused after " +
        "the stock's available_end_time: shown from that moment on; recorded, with a history entry, by the stock's " +
        "reconciliation run once WeChat's flow files were compared)",
    );

const couponHistoryEntry = z.strictObject({
  state: z.enum(["SENT", "USED", "REFUNDED", "EXPIRED"]),
  at: rfc3339().describe("When: the send's success, WeChat's consume_time, the refund, the stock's end"),
  source: z.enum(["send", "notification", "reconciliation"]).describe("What recorded it"),
  transaction_id: z.string().optional().describe("WeChat's payment transaction that used (or returned) the coupon"),
  amount: count().optional().describe("Fen consumed (or returned)"),
  notification_id: z.string().optional().describe("The COUPON.USE notification that reported it"),
  out_request_no: z.string().optional().describe("The send that issued the coupon"),
});

export const couponLifecycleResponse = z.strictObject({
  coupon_id: z.string(),
  stock_id: z.string(),
  state: couponState(),
  issued_by_service: z
    .boolean()
    .describe("false: WeChat reported this coupon but no send of this service is recorded for it"),
  campaign_id: z.string().optional(),
  out_request_no: z.string().optional(),
  openid: z.string().optional(),
  appid: z.string().optional(),
  sent_at: rfc3339().optional(),
  used_at: rfc3339().optional().describe("First use (WeChat's consume_time)"),
  consume_mchid: z.string().optional().describe("The merchant where it was used"),
  transaction_ids: z.array(z.string()).describe("Every transaction that used it, in the order recorded"),
  used_amount: count().optional().describe("Fen consumed over all uses"),
  coupon_amount: count().optional().describe("Face value in fen (normal_coupon_information.coupon_amount)"),
  refunded_at: rfc3339().optional(),
  available_end_time: rfc3339().optional().describe("When the stock's unused coupons expire"),
  history: z.array(couponHistoryEntry).describe("Oldest first"),
  created_at: rfc3339(),
  updated_at: rfc3339(),
});

export const campaignCouponsResponse = z.strictObject({
  data: z.array(couponLifecycleResponse).describe("Ordered by state, then the time it was entered, then coupon_id"),
  cursor: z.string().optional().describe("Pass it as ?cursor= for the next page; absent on the last page"),
});

export const campaignReportResponse = z.strictObject({
  campaign_id: z.string(),
  stock_id: z.string(),
  recipients: count().describe("Recipients known so far (the campaign's total)"),
  sent: count(),
  failed: count(),
  failures_by_code: z.record(z.string(), count()),
  cancelled: count(),
  used: count().describe("Issued coupons used at least once"),
  used_amount: count().describe("Fen consumed by those first uses"),
  redemption_rate: z.number().min(0).max(1).describe("used / sent (0 while nothing was sent), 4 decimals"),
  first_used_at: rfc3339().optional().describe("The campaign's earliest use"),
  time_to_use: z.strictObject({
    fastest_seconds: z.number().min(0).optional().describe("Shortest send-to-use time, exact"),
    median_seconds: z
      .number()
      .min(0)
      .optional()
      .describe("Median send-to-use time, from a histogram of 4 buckets per doubling: within 9.1 %"),
  }),
  uses_by_day: z
    .array(z.strictObject({ day: z.string().describe("YYYY-MM-DD of WeChat's consume_time"), uses: count() }))
    .describe("Days with uses, oldest first"),
});

// ---- campaigns ----

const campaignState = () =>
  z
    .enum(["ACCEPTED", "SCHEDULED", "SENDING", "PAUSED", "CANCELLING", "COMPLETED"])
    .describe(
      "ACCEPTED (nothing queued yet), SCHEDULED (start_at ahead), SENDING, PAUSED, CANCELLING (the unsent " +
        "recipients are being recorded CANCELLED), COMPLETED (sealed and every recipient has its final outcome, " +
        "cancelled campaigns included)",
    );
const campaignStateReason = () =>
  z
    .enum([
      "scheduled",
      "paused",
      "cancelled",
      "waiting_for_rate",
      "stock_not_running",
      "stock_budget_exhausted",
      "merchant_not_permitted",
      "appid_not_bound",
      "credentials_refused",
    ])
    .optional()
    .describe(
      "Why the campaign is not simply sending (or why it completed: cancelled); absent otherwise. PAUSED with " +
        "stock_not_running or stock_budget_exhausted: the service paused it when WeChat refused its sends because " +
        "the stock stopped running (paused, stopped, ended) or its budget ran out for now; resume checks the stock " +
        "again. PAUSED with merchant_not_permitted (NO_AUTH, REQUEST_BLOCKED or INVALID_REQUEST for the merchant, MCH_NOT_EXISTS), " +
        "appid_not_bound (APPID_MCHID_NOT_MATCH) or credentials_refused (401 SIGN_ERROR: the merchant key, serial " +
        "or clock): WeChat refuses the merchant, not a recipient; fix it, then resume (the next send tells: the " +
        "campaign pauses again if WeChat still refuses)",
    );

export const campaignAcceptedResponse = z.strictObject({
  campaign_id: z.string(),
  state: campaignState(),
  state_reason: campaignStateReason(),
  total: count().describe("Recipients after removing duplicate openids (0 for a new chunked campaign)"),
  replayed: z.boolean().describe("true: this campaign had been submitted before"),
  duplicates_removed: count(),
  sealed: z.boolean().describe("Every recipient is known: always for openids, after the last chunk for chunked"),
});

export const campaignChunkResponse = z.strictObject({
  campaign_id: z.string(),
  chunk_no: count(),
  accepted: count().describe("Sends this chunk adds: its openids without duplicates"),
  duplicates_removed: count(),
  replayed: z.boolean().describe("true: this chunk had been accepted before; nothing was added or queued again"),
  total: count().describe("The campaign's recipients so far"),
  sealed: z.boolean().describe("Chunks 0..last all arrived: the campaign's total is final"),
});

export const campaignResponse = z.strictObject({
  campaign_id: z.string(),
  stock_id: z.string(),
  state: campaignState(),
  state_reason: campaignStateReason(),
  total: count(),
  sent: count(),
  failed: count(),
  cancelled: count().describe("Recipients recorded CANCELLED after a cancel: never sent"),
  pending: count().describe("total − sent − failed − cancelled"),
  failures_by_code: z.record(z.string(), count()).describe("Final failures by WeChat's code (NOT_ENOUGH, RULE_LIMIT…)"),
  rate_per_second: z.number().int().min(1),
  sealed: z.boolean().describe("Every recipient is known (a chunked campaign: its last chunk and all before arrived)"),
  chunks_received: count().describe("Chunks accepted (1 for a campaign created with its openids)"),
  start_at: rfc3339().optional().describe("Scheduled start: no send starts before"),
  control_changed_at: rfc3339().optional().describe("When it was last paused, resumed or cancelled"),
  retry_of: z
    .strictObject({
      campaign_id: z.string().describe("The campaign whose failures this retry sends again"),
      attempt: z.number().int().min(1).describe("1 for that campaign's first retry, 2 for its second…"),
      codes: z.array(z.string()).describe("The failure codes retried"),
    })
    .optional()
    .describe("Present on a retry campaign (POST /campaigns/{campaign_id}/retry)"),
  retries: z
    .array(z.strictObject({ campaign_id: z.string(), codes: z.array(z.string()) }))
    .optional()
    .describe("This campaign's retries, oldest first; absent when it was never retried"),
  created_at: rfc3339(),
  updated_at: rfc3339(),
});

export const campaignListResponse = z.strictObject({
  data: z
    .array(campaignResponse)
    .describe("Newest first. With a filter a page may hold fewer than limit (even none) while cursor is present"),
  cursor: z
    .string()
    .optional()
    .describe("Pass it as ?cursor= (with the same filters) for the next page; absent on the last page"),
});

export const campaignControlResponse = z.strictObject({
  campaign: campaignResponse,
  changed: z
    .boolean()
    .describe("false: the campaign already was in the asked state (a repeat is answered, not refused)"),
});

export const campaignRetryResponse = z.strictObject({
  /** The retry campaign: follow it with GET /campaigns/{campaign_id}. */
  campaign: campaignResponse,
  parent_campaign_id: z.string(),
  attempt: z.number().int().min(1),
  codes: z.array(z.string()).describe("The codes retried, sorted"),
  created: z.boolean().describe("true: this request created the retry; false: it continued or replayed it"),
  filling_complete: z
    .boolean()
    .describe(
      "Every failed recipient of those codes was added: calling again adds nothing. false: call again with the " +
        "same codes to add the next pages (each request adds a bounded number)",
    ),
  pages_added: count().describe("Pages of the parent's send records this request read into the retry"),
});

export const campaignFailure = z.strictObject({
  openid: z.string(),
  out_request_no: z.string().describe("The send's idempotency key (campaign, chunk, openid)"),
  code: z.string().describe("WeChat's final code (NOT_ENOUGH, RULE_LIMIT, USER_ACCOUNT_ABNORMAL…)"),
  message: z.string().optional(),
});

export const campaignFailuresResponse = z.strictObject({
  data: z.array(campaignFailure).describe("Failed sends of this page (may be empty while cursor is present)"),
  cursor: z.string().optional().describe("Pass it as ?cursor= for the next page; absent on the last page"),
});

export const campaignExportResponse = z.strictObject({
  export_id: z.string(),
  campaign_id: z.string(),
  what: z.enum(["coupons", "failures"]),
  state: z
    .enum(["PENDING", "RUNNING", "COMPLETED", "FAILED"])
    .describe("PENDING: queued; RUNNING: being written (rows_written grows); COMPLETED: download_url is set"),
  replayed: z.boolean().optional().describe("POST only: true when a fresh export of the same kind was answered"),
  rows_written: count().describe("CSV rows (the header not counted) written so far; all of them once COMPLETED"),
  bytes: count().optional().describe("The file's size, once COMPLETED"),
  invocations: count().describe("Export function invocations that worked on it (a long export continues in several)"),
  download_url: z
    .string()
    .optional()
    .describe("COMPLETED: a presigned GET of the CSV, valid for download_expires_at (ask again for a new one)"),
  download_expires_at: rfc3339().optional(),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional().describe("FAILED: why"),
  created_at: rfc3339(),
  updated_at: rfc3339(),
  completed_at: rfc3339().optional(),
});

// ---- callbacks, media ----

export const setCallbackResponse = z.looseObject({ update_time: rfc3339(), notify_url: z.string() });
export const callbackSettingsResponse = z.looseObject({ mchid: z.string(), notify_url: z.string() });
export const imageUploadResponse = z.looseObject({
  media_url: z.string().describe("Use it as pattern_info.merchant_logo or coupon_image"),
});

// ---- the document itself ----

export const openApiDocumentResponse = z.looseObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.looseObject({})),
});

export type ErrorResponse = z.infer<typeof errorResponse>;
export type WebhookFailureResponse = z.infer<typeof webhookFailureResponse>;
export type Stock = z.infer<typeof stock>;
export type Coupon = z.infer<typeof coupon>;
export type CreateStockResponse = z.infer<typeof createStockResponse>;
export type StockCollectionResponse = z.infer<typeof stockCollectionResponse>;
export type AvailableCollectionResponse = z.infer<typeof availableCollectionResponse>;
export type UseFlowResponse = z.infer<typeof useFlowResponse>;
export type RefundFlowResponse = z.infer<typeof refundFlowResponse>;
export type SendCouponResponse = z.infer<typeof sendCouponResponse>;
export type CouponCollectionResponse = z.infer<typeof couponCollectionResponse>;
export type CouponEvent = z.infer<typeof couponEvent>;
export type CouponEventsResponse = z.infer<typeof couponEventsResponse>;
export type CouponLifecycleResponse = z.infer<typeof couponLifecycleResponse>;
export type CampaignCouponsResponse = z.infer<typeof campaignCouponsResponse>;
export type CampaignReportResponse = z.infer<typeof campaignReportResponse>;
export type CampaignAcceptedResponse = z.infer<typeof campaignAcceptedResponse>;
export type CampaignResponse = z.infer<typeof campaignResponse>;
export type CampaignChunkResponse = z.infer<typeof campaignChunkResponse>;
export type CampaignFailuresResponse = z.infer<typeof campaignFailuresResponse>;
export type CampaignListResponse = z.infer<typeof campaignListResponse>;
export type CampaignExportResponse = z.infer<typeof campaignExportResponse>;
export type CampaignControlResponse = z.infer<typeof campaignControlResponse>;
export type CampaignRetryResponse = z.infer<typeof campaignRetryResponse>;
export type SetCallbackResponse = z.infer<typeof setCallbackResponse>;
export type CallbackSettingsResponse = z.infer<typeof callbackSettingsResponse>;
export type ImageUploadResponse = z.infer<typeof imageUploadResponse>;

// ---- reconciliations ----

const findingKind = () =>
  z
    .enum(["use_recovered", "refund_recorded", "not_issued"])
    .describe(
      "use_recovered: a use WeChat has and the service had not recorded, now USED (found by reconciliation) and " +
        "counted; refund_recorded: a refund of a recorded use, now REFUNDED; not_issued: a row for a coupon no send " +
        "of this service recorded (another channel's; a flow row names no recipient or send, so a coupon WeChat " +
        "issued for a send still PENDING with UNCERTAIN_OUTCOME shows here too)",
    );

export const reconciliationResponse = z.strictObject({
  reconciliation_id: z.string(),
  stock_id: z.string(),
  trigger: z.enum(["schedule", "request"]),
  status: z
    .enum(["RUNNING", "COMPLETED", "FAILED"])
    .describe(
      "RUNNING until both files were read and the stock's unused coupons recorded EXPIRED (one scheduled invocation " +
        "or several, each from a checkpoint)",
    ),
  phase: z
    .enum(["use", "refund", "expire"])
    .describe(
      "What the run is doing (RUNNING) or did last: the use flow, the refund flow, then the expiry of unused coupons",
    ),
  rows_read: z.strictObject({ use: count(), refund: count() }),
  findings: z.strictObject({ use_recovered: count(), refund_recorded: count(), not_issued: count() }),
  expired: count().describe(
    "Coupons of the stock still unused after both files, recorded EXPIRED by this run (each publishes coupon.expired)",
  ),
  available_end_time: rfc3339().describe("The stock's end: its unused coupons expire at it"),
  flows_available_at: rfc3339().describe("When WeChat serves the stock's flow files (10:00 Beijing after its end)"),
  failures: count().describe("Invocations that ended in an error (resumed from the checkpoint); FAILED after 5"),
  last_error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  created_at: rfc3339(),
  completed_at: rfc3339().optional(),
});

export const reconciliationFindingsResponse = z.strictObject({
  data: z.array(
    z.strictObject({
      kind: findingKind(),
      flow: z.enum(["use", "refund"]),
      coupon_id: z.string(),
      stock_id: z.string(),
      transaction_id: z.string(),
      at: z.string().describe("consume_time or refund_time (RFC 3339, Beijing)"),
      amount: count().describe("Fen: the coupon amount used, or the amount refunded"),
      refund_id: z.string().optional(),
      campaign_id: z.string().optional(),
    }),
  ),
  cursor: z.string().optional(),
});

export const reconciliationFindingsCsv = z
  .string()
  .describe(
    "CSV (RFC 4180, header line first): kind,flow,coupon_id,stock_id,transaction_id,at,amount,refund_id,campaign_id. " +
      "The next page's cursor is in the X-Next-Cursor header (absent on the last page).",
  );

export type ReconciliationResponse = z.infer<typeof reconciliationResponse>;
export type ReconciliationFindingsResponse = z.infer<typeof reconciliationFindingsResponse>;

export const webhookTestResponse = z.object({
  event_id: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .describe("detail.event_id of the test event"),
  detail_type: z.literal("webhook.test"),
});
