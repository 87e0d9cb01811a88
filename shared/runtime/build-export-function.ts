import { S3Client } from "@aws-sdk/client-s3";
import { createDocumentClient } from "../adapters/dynamodb/document-client.js";
import { DynamoDbCouponStore } from "../adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbExportStore } from "../adapters/dynamodb/dynamodb-export-store.js";
import { DynamoDbSendLedger } from "../adapters/dynamodb/dynamodb-send-ledger.js";
import { S3ExportObjects } from "../adapters/s3/s3-export-objects.js";
import { createSqsClient } from "../adapters/sqs/sqs-client.js";
import { SqsExportQueue } from "../adapters/sqs/sqs-export-queue.js";
import type { ExportEnv } from "../config/env.js";
import { EXPORT_TUNING } from "../config/export-settings.js";
import { createExportHandler } from "../edges/sqs/export-handler.js";
import { logger } from "../observability/logger.js";

/** Composition root of the export function (also used by the local stack). */
export function buildExportFunction(env: ExportEnv) {
  const table = { doc: createDocumentClient(), tableName: env.TABLE_NAME };
  return createExportHandler({
    exports: new DynamoDbExportStore(table),
    objects: new S3ExportObjects({ client: new S3Client({}), bucket: env.EXPORT_BUCKET_NAME }),
    queue: new SqsExportQueue({ client: createSqsClient(), queueUrl: env.EXPORT_QUEUE_URL }),
    coupons: new DynamoDbCouponStore(table),
    ledger: new DynamoDbSendLedger(table),
    clock: Date.now,
    ...EXPORT_TUNING,
    logger,
  });
}
