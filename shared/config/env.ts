import * as z from "zod";
import { DEFAULT_SEND_RATE_PER_SECOND, WECHAT_SEND_LIMIT_PER_SECOND } from "../domain/rate/send-rates.js";
import { SEND_MAX_RECEIVE_COUNT } from "./queue-settings.js";

/**
 * Environment of each function kind, validated once at cold start. Env vars hold names, URLs and ARNs only:
 * key material lives in the Secrets Manager secret named by SECRET_ID.
 */
const nonEmpty = z.string().trim().min(1);
const positiveInt = z.coerce.number().int().positive();

const common = {
  TABLE_NAME: nonEmpty,
  SECRET_ID: nonEmpty.describe("ARN or name of the merchant secret"),
  SECRET_CACHE_SECONDS: positiveInt.default(300),
  WECHATPAY_BASE_URL: z.url().default("https://api.mch.weixin.qq.com"),
  WECHATPAY_BACKUP_BASE_URL: z.url().default("https://api2.mch.weixin.qq.com"),
  WECHATPAY_TIMEOUT_MS: positiveInt.default(5_000),
  /**
   * How WeChat's signatures are verified: `public_key` (the secret's WeChat Pay public key; nothing is downloaded) or
   * `platform_certificate` (certificates cached in the table by cert-refresh, downloaded when a serial is unknown;
   * with a public key in the secret too, both are accepted, as during WeChat's migration).
   */
  WECHATPAY_MODE: z.enum(["public_key", "platform_certificate"]).default("public_key"),
};

/** The export bucket and the export function's queue: the api starts exports and signs their links. */
const exportResources = {
  EXPORT_BUCKET_NAME: nonEmpty,
  EXPORT_QUEUE_URL: z.url(),
};

/**
 * The merchant's send budget per second, the ceiling every send shares (the api: also a campaign's rate when a request
 * gives none); WeChat allows 500 sends/s per merchant.
 */
const sendBudget = {
  DEFAULT_SEND_RATE_PER_SECOND: positiveInt.max(WECHAT_SEND_LIMIT_PER_SECOND).default(DEFAULT_SEND_RATE_PER_SECOND),
};

export const apiEnvSchema = z.object({
  ...common,
  ...exportResources,
  ...sendBudget,
  SEND_QUEUE_URL: z.url(),
  /** The event forwarder's queue: POST /webhooks/test puts a test event on it. */
  FORWARD_QUEUE_URL: z.url(),
});

/** POST /coupons alone (shared/edges/http/routes.ts): the table, the merchant secret, WeChat; no queue, no bucket. */
export const sendApiEnvSchema = z.object({ ...common, ...sendBudget });

export const sendWorkerEnvSchema = z.object({
  ...common,
  SEND_QUEUE_URL: z.url(),
  /** Poison messages are moved here with their reason. */
  SEND_DLQ_URL: z.url(),
  /** Ceiling for all workers together, held by the rate counter in the table (shared/domain/rate/rate-governor.ts). */
  SEND_RATE_PER_SECOND: positiveInt.max(WECHAT_SEND_LIMIT_PER_SECOND).default(DEFAULT_SEND_RATE_PER_SECOND),
  /** The send queue's redrive maxReceiveCount (set by the stack from the same constant). */
  SEND_MAX_RECEIVE_COUNT: positiveInt.default(SEND_MAX_RECEIVE_COUNT),
});

export const notifyEnvSchema = z.object(common);

/** The table stream's consumer (docs/events.md#outbox): it reads no table and holds no merchant key. */
export const eventsPublisherEnvSchema = z.object({
  /** Name or ARN of the service's EventBridge bus. */
  EVENT_BUS_NAME: nonEmpty,
});

export const certRefreshEnvSchema = z.object(common);

/** The export function reads the table and writes the bucket; it never calls WeChat, so it has no secret. */
export const exportEnvSchema = z.object({
  TABLE_NAME: nonEmpty,
  ...exportResources,
});

export const reconcileEnvSchema = z.object({
  ...common,
  /**
   * Seconds before the job asks WeChat again whether it serves the flow files of a stock that has not reached the
   * time WeChat documents for them (shared/domain/reconciliation/reconciliation-job.ts).
   */
  RECONCILE_POLL_SECONDS: positiveInt.default(3_600),
  /** Seconds before the function's timeout at which a run stops at its next checkpoint (the next invocation resumes). */
  RECONCILE_STOP_MARGIN_SECONDS: positiveInt.default(60),
});

/** The sweeper touches neither WeChat nor the merchant secret: only the table and the send queue. */
export const sweeperEnvSchema = z.object({
  TABLE_NAME: nonEmpty,
  SEND_QUEUE_URL: z.url(),
  /**
   * Seconds without progress after which a campaign's unfinished sends are queued again
   * (shared/domain/campaigns/sweep-campaigns.ts): longer than the send queue's visibility timeout and the worker's
   * longest back-off, so sends merely waiting in the queue are not duplicated.
   */
  SWEEPER_STALL_SECONDS: positiveInt.default(600),
  /** Send records one run reads at most (its memory and time stay bounded; the next run goes on). */
  SWEEPER_RECORDS_PER_RUN: positiveInt.default(200_000),
});

/** The HTTP event forwarder (docs/events.md#signed-http-forwarding). */
export const eventForwarderEnvSchema = z.object({
  /** Its own queue: retries of one endpoint go back on it with a delay. */
  FORWARD_QUEUE_URL: z.url(),
  /** The dead-letter record of a delivery that failed its last attempt. */
  FORWARD_DLQ_URL: z.url(),
  /** The signing secret, JSON `{"signing_secret": "…"}`. */
  FORWARD_SECRET_ID: nonEmpty,
  SECRET_CACHE_SECONDS: positiveInt.default(300),
  /** JSON array of the consumers' https URLs (http only on loopback, for the local stack). */
  FORWARD_URLS: z.preprocess(
    (v) => (typeof v === "string" ? JSON.parse(v) : v),
    z.array(
      z
        .url()
        .refine((u) => /^https:\/\//.test(u) || /^http:\/\/127\.0\.0\.1[:/]/.test(u), "must be https")
        // fetch refuses credentials in a URL, naming the URL in its error (which the forwarder logs).
        .refine((u) => !/^https?:\/\/[^/@\s]*@/.test(u), "must not carry credentials (user:password@)"),
    ),
  ),
  /** Seconds before attempt 2, 3, …; comma-separated (SQS delays at most 900 s). */
  FORWARD_RETRY_DELAYS_SECONDS: z
    .string()
    .regex(/^\d+(,\d+)*$/)
    .transform((v) => v.split(",").map(Number))
    .refine((delays) => delays.every((d) => d <= 900), "each delay at most 900 s"),
  FORWARD_TIMEOUT_MS: positiveInt.default(5_000),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;
export type SendApiEnv = z.infer<typeof sendApiEnvSchema>;
export type SendWorkerEnv = z.infer<typeof sendWorkerEnvSchema>;
export type NotifyEnv = z.infer<typeof notifyEnvSchema>;
export type CertRefreshEnv = z.infer<typeof certRefreshEnvSchema>;
export type ExportEnv = z.infer<typeof exportEnvSchema>;
export type ReconcileEnv = z.infer<typeof reconcileEnvSchema>;
export type SweeperEnv = z.infer<typeof sweeperEnvSchema>;
export type EventsPublisherEnv = z.infer<typeof eventsPublisherEnvSchema>;
export type EventForwarderEnv = z.infer<typeof eventForwarderEnvSchema>;

/** Thrown at cold start; names every bad variable, never echoes values. */
export class ConfigurationError extends Error {
  constructor(readonly variables: string[]) {
    super(`invalid configuration: ${variables.join("; ")}`);
    this.name = "ConfigurationError";
  }
}

export function loadEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigurationError(result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
}
