import { randomUUID } from "node:crypto";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { DynamoDbCampaignStore } from "../adapters/dynamodb/dynamodb-campaign-store.js";
import { DynamoDbCouponStore } from "../adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbExportStore } from "../adapters/dynamodb/dynamodb-export-store.js";
import { DynamoDbNotificationInbox } from "../adapters/dynamodb/dynamodb-notification-inbox.js";
import { DynamoDbReconciliationStore } from "../adapters/dynamodb/dynamodb-reconciliation-store.js";
import { DynamoDbSendLedger } from "../adapters/dynamodb/dynamodb-send-ledger.js";
import { DynamoDbStockRequestLedger } from "../adapters/dynamodb/dynamodb-stock-request-ledger.js";
import { S3DownloadLinks } from "../adapters/s3/s3-download-links.js";
import { SqsExportQueue } from "../adapters/sqs/sqs-export-queue.js";
import { SqsForwardTestSink } from "../adapters/sqs/sqs-forward-test-sink.js";
import { SqsSendQueue } from "../adapters/sqs/sqs-send-queue.js";
import { WechatStockEndTimes } from "../adapters/wechatpay/stock-end-times.js";
import { WechatCouponGateway } from "../adapters/wechatpay/wechat-coupon-gateway.js";
import type { ApiEnv } from "../config/env.js";
import { campaignRoutes } from "../edges/http/api/campaign-routes.js";
import { couponLifecycleRoutes } from "../edges/http/api/coupon-lifecycle-routes.js";
import { couponRoutes } from "../edges/http/api/coupon-routes.js";
import { exportRoutes } from "../edges/http/api/export-routes.js";
import { reconciliationRoutes } from "../edges/http/api/reconciliation-routes.js";
import type { ApiServices } from "../edges/http/api/services.js";
import { settingsRoutes } from "../edges/http/api/settings-routes.js";
import { stockRoutes } from "../edges/http/api/stock-routes.js";
import { buildOpenApiDocument } from "../edges/http/openapi.js";
import { json } from "../edges/http/responses.js";
import { httpFunction, httpFunctionParts } from "./http-function.js";

/**
 * Composition root of the api function: every caller route but POST /coupons (the send-api function's,
 * build-send-api-function.ts). Also used by the local stack.
 */
export function buildApiFunction(env: ApiEnv) {
  const { aws, merchantRuntime, governor, inProgressWaitMs } = httpFunctionParts(env);
  const merchant = merchantRuntime();
  const gateway = new WechatCouponGateway(merchant);
  const ledger = new DynamoDbSendLedger(aws.table);
  const campaigns = new DynamoDbCampaignStore(aws.table);
  const coupons = new DynamoDbCouponStore(aws.table);
  const stockEnds = new WechatStockEndTimes(merchant);
  // A keyed stock creation holds its record for the client's whole retry budget (timeout × attempts, with back-off).
  const leaseMs = env.WECHATPAY_TIMEOUT_MS * 4;
  const services: ApiServices = {
    merchant,
    stocks: { stockRequests: new DynamoDbStockRequestLedger(aws.table), gateway, clock: Date.now, leaseMs },
    campaigns: {
      campaigns,
      ledger,
      queue: new SqsSendQueue({ client: aws.sqs, queueUrl: env.SEND_QUEUE_URL }),
      clock: Date.now,
      gateway,
    },
    inbox: new DynamoDbNotificationInbox({ ...aws.table, retentionDays: 30 }),
    coupons,
    reconciliations: { runs: new DynamoDbReconciliationStore(aws.table), newId: randomUUID },
    stockEnd: (stockId) => stockEnds.endOf(stockId),
    exports: {
      store: new DynamoDbExportStore(aws.table),
      // Links only: the api signs them and never calls S3 (shared/adapters/s3/s3-download-links.ts).
      links: new S3DownloadLinks({
        bucket: env.EXPORT_BUCKET_NAME,
        region: process.env.AWS_REGION ?? "",
        credentials: defaultProvider(),
        ...(process.env.AWS_ENDPOINT_URL_S3 ? { endpoint: process.env.AWS_ENDPOINT_URL_S3 } : {}),
      }),
      queue: new SqsExportQueue({ client: aws.sqs, queueUrl: env.EXPORT_QUEUE_URL }),
    },
    forwardTest: new SqsForwardTestSink({
      client: aws.sqs,
      queueUrl: env.FORWARD_QUEUE_URL,
      region: process.env.AWS_REGION ?? "",
    }),
    defaultRatePerSecond: env.DEFAULT_SEND_RATE_PER_SECOND,
    // Read only: whether a campaign's sends waited for the merchant's budget (its status).
    rate: { governor },
    inProgressWaitMs,
  };
  return httpFunction("api", {
    ...stockRoutes(services),
    ...couponRoutes(services),
    ...campaignRoutes(services),
    ...couponLifecycleRoutes(services),
    ...exportRoutes(services),
    ...reconciliationRoutes(services),
    ...settingsRoutes(services),
    "GET /openapi.json": async () => json(200, buildOpenApiDocument()),
  });
}
