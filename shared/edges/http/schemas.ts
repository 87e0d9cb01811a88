import * as z from "zod";
import { EXPORT_ID_PATTERN } from "../../domain/exports/start-export.js";
import { WECHAT_SEND_LIMIT_PER_SECOND } from "../../domain/rate/send-rates.js";

/**
 * Request schemas of the HTTP API. They validate requests at the edge and are the source of the OpenAPI document,
 * so the two cannot drift. WeChat's own business rules for create-stock are applied by the WeChat client's validator.
 */
export const OUT_REQUEST_NO = z
  .string()
  .regex(/^[A-Za-z0-9|_*-]{1,128}$/, "must be 1-128 characters of letters, digits, | _ * -")
  .describe("Idempotency key, unique per merchant; reuse it on every retry of the same request");
export const OPENID = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, "must be 1-128 characters of letters, digits, _ or -")
  .describe("User's openid under the appid");
export const STOCK_ID = z
  .string()
  .regex(/^[0-9]{1,20}$/, "must be 1-20 digits")
  .describe("WeChat stock (batch) id");
export const COUPON_ID = z.string().regex(/^[0-9]{1,20}$/, "must be 1-20 digits");
export const APPID = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, "must be 1-32 letters, digits, _ or -");
export const MCHID = z.string().regex(/^[0-9]{1,20}$/, "must be 1-20 digits");
const limit = (max: number) => z.coerce.number().int().min(1).max(max);
const offset = (max: number) => z.coerce.number().int().min(0).max(max);

export const sendCouponBody = z.strictObject({
  stock_id: STOCK_ID,
  openid: OPENID,
  out_request_no: OUT_REQUEST_NO,
  appid: APPID.optional().describe("Defaults to the merchant's configured appid"),
  stock_creator_mchid: MCHID.optional().describe("Defaults to the configured merchant"),
});

export const MAX_CAMPAIGN_RECIPIENTS = 10_000;
const CAMPAIGN_ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -");
export const createCampaignBody = z
  .strictObject({
    campaign_id: CAMPAIGN_ID.optional().describe(
      "Your idempotency key for the campaign; derived from the openids when omitted (required with chunked)",
    ),
    stock_id: STOCK_ID,
    openids: z
      .array(OPENID)
      .min(1)
      .max(MAX_CAMPAIGN_RECIPIENTS)
      .optional()
      .describe("The recipients of a one-shot campaign (sealed at once); omit it with chunked: true"),
    appid: APPID.optional(),
    rate_per_second: z.number().int().min(1).max(WECHAT_SEND_LIMIT_PER_SECOND).optional(),
    chunked: z
      .literal(true)
      .optional()
      .describe(
        "Open a campaign whose recipients arrive in chunks (POST /campaigns/{campaign_id}/chunks); the chunk " +
          "posted with last: true seals it",
      ),
    start_at: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "Schedule: no send starts before this time (RFC 3339, in the future and at most 30 days ahead). The " +
          "campaign is SCHEDULED (state_reason scheduled) until then",
      ),
  })
  .superRefine((body, ctx) => {
    // One of the two shapes; the issue names the field to fix.
    if (body.chunked) {
      if (body.openids !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["openids"],
          message: "must be omitted with chunked: post chunks instead",
        });
      }
      if (body.campaign_id === undefined) {
        ctx.addIssue({ code: "custom", path: ["campaign_id"], message: "is required with chunked" });
      }
    } else if (body.openids === undefined) {
      ctx.addIssue({ code: "custom", path: ["openids"], message: "is required (or chunked: true)" });
    }
  });

export const campaignChunkBody = z.strictObject({
  chunk_no: z
    .number()
    .int()
    .min(0)
    .max(10_000_000)
    .describe("0, 1, 2 … The same chunk_no with the same openids is a replay; with other openids, a conflict"),
  openids: z
    .array(OPENID)
    .min(1)
    .max(MAX_CAMPAIGN_RECIPIENTS)
    .describe("Duplicates inside a chunk are removed; the same openid in two chunks is two sends"),
  last: z
    .boolean()
    .optional()
    .describe("This is the last chunk: the campaign is sealed once chunks 0..chunk_no all arrived"),
});

/** WeChat's error codes (NOT_ENOUGH, SYSTEM_ERROR…) and the service's own (RETRIES_EXHAUSTED). */
const FAILURE_CODE = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must be an error code like SYSTEM_ERROR");

export const retryCampaignBody = z.strictObject({
  codes: z
    .array(FAILURE_CODE)
    .min(1)
    .max(50)
    .describe(
      "Final failure codes to retry (see failures_by_code); each failed recipient of these codes is sent again once",
    ),
});

export const campaignFailuresQuery = z.strictObject({
  cursor: z.string().min(1).max(2048).optional().describe("The cursor of the previous page"),
});

export const CAMPAIGN_STATES = ["ACCEPTED", "SCHEDULED", "SENDING", "PAUSED", "CANCELLING", "COMPLETED"] as const;

export const listCampaignsQuery = z.strictObject({
  state: z.enum(CAMPAIGN_STATES).optional().describe("Only campaigns in this state"),
  stock_id: STOCK_ID.optional().describe("Only campaigns of this stock"),
  limit: limit(100).default(20),
  cursor: z.string().min(1).max(2048).optional().describe("The cursor of the previous page"),
});

const COUPON_STATES = ["SENT", "USED", "REFUNDED", "EXPIRED"] as const;

export const campaignCouponsQuery = z.strictObject({
  state: z
    .enum(COUPON_STATES)
    .optional()
    .describe("Only coupons in this state (EXPIRED: unused after the stock's available_end_time)"),
  used_from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Only coupons first used at or after this time (RFC 3339); implies state=USED"),
  used_to: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("Only coupons first used before this time (RFC 3339); implies state=USED"),
  limit: limit(1000).default(100),
  cursor: z.string().min(1).max(2048).optional().describe("The cursor of the previous page"),
});

export const stockIdPath = z.object({ stock_id: STOCK_ID });
export const campaignIdPath = z.object({ campaign_id: CAMPAIGN_ID });
/** Export ids as startExport makes them. */
export const campaignExportPath = z.object({
  campaign_id: CAMPAIGN_ID,
  export_id: z
    .string()
    .regex(EXPORT_ID_PATTERN, "must be an export id as POST /campaigns/{campaign_id}/exports answers it"),
});
export const createExportBody = z.strictObject({
  what: z
    .enum(["coupons", "failures"])
    .describe("coupons: every coupon the campaign issued, with its state; failures: every send that failed for good"),
});
export const couponIdPath = z.object({ coupon_id: COUPON_ID });
export const openidPath = z.object({ openid: OPENID });
export const userCouponPath = z.object({ openid: OPENID, coupon_id: COUPON_ID });

export const stockCommandBody = z.strictObject({ stock_creator_mchid: MCHID.optional() }).optional();

/** A command that takes no fields (pause, resume, cancel): no body, or `{}`. */
export const emptyCommandBody = z.strictObject({});

export const listStocksQuery = z.strictObject({
  offset: offset(100_000).default(0),
  limit: limit(10).default(10),
  stock_creator_mchid: MCHID.optional(),
  create_start_time: z.iso.datetime({ offset: true }).optional(),
  create_end_time: z.iso.datetime({ offset: true }).optional(),
  status: z.enum(["unactivated", "audit", "running", "stoped", "paused"]).optional(),
});
export const stockDetailQuery = z.strictObject({ stock_creator_mchid: MCHID.optional() });
export const merchantsQuery = z.strictObject({
  offset: offset(1000).default(0),
  limit: limit(50).default(50),
  stock_creator_mchid: MCHID.optional(),
});
export const itemsQuery = z.strictObject({
  offset: offset(500).default(0),
  limit: limit(100).default(100),
  stock_creator_mchid: MCHID.optional(),
});
export const userCouponsQuery = z.strictObject({
  appid: APPID.optional(),
  stock_id: STOCK_ID.optional(),
  status: z.enum(["SENDED", "USED"]).optional(),
  creator_mchid: MCHID.optional(),
  sender_mchid: MCHID.optional(),
  available_mchid: MCHID.optional(),
  offset: offset(100_000).default(0),
  limit: limit(100).default(20),
  business_type: z.enum(["MULTIUSE"]).optional().describe("MULTIUSE: 消费金 only"),
});
export const couponDetailQuery = z.strictObject({ appid: APPID.optional() });

export const callbackQuery = z.strictObject({
  mchid: MCHID.optional().describe("Merchant whose URL to read; defaults to the configured merchant"),
});

export const setCallbackBody = z.strictObject({
  notify_url: z.url().max(256).describe("HTTPS URL without a query string: WeChat's rule"),
  switch: z.boolean().optional(),
  mchid: MCHID.optional(),
});

export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
/** POST /webhooks/test: an optional note the consumers see in `detail.message`. */
export const webhookTestBody = z.strictObject({ message: z.string().max(200).optional() }).optional();

export const uploadImageBody = z.strictObject({
  // Each letter's two cases spelled out rather than the `i` flag: zod writes only the regex's source into the
  // OpenAPI document, and JSON Schema patterns carry no flags
  // (https://json-schema.org/draft/2020-12/json-schema-validation#section-6.3.3).
  filename: z.string().regex(
    // JPG, BMP or PNG, as WeChat's ImageMeta says (docs/wechatpay-cash-coupons.md#image-upload-e17): not .jpeg
    /^[^/\\]{1,128}\.([jJ][pP][gG]|[bB][mM][pP]|[pP][nN][gG])$/,
    "must end in .jpg, .bmp or .png",
  ),
  content_base64: z.base64().describe("The image bytes, base64 (at most 2 MB decoded)"),
});

// ---- reconciliations ----

export const createReconciliationBody = z.strictObject({
  stock_id: STOCK_ID.describe("The stock whose use and refund flow files to compare with the coupon records"),
});
export const reconciliationIdPath = z.object({
  reconciliation_id: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, "must be 1-80 letters, digits, _ or -"),
});
export const reconciliationFindingsQuery = z.strictObject({
  limit: limit(10_000).default(1_000),
  cursor: z.string().min(1).max(2048).optional().describe("The cursor of the previous page"),
});
