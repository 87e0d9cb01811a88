import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDocumentClient } from "../adapters/dynamodb/document-client.js";
import { DynamoDbPlatformCertificateCache } from "../adapters/dynamodb/dynamodb-platform-certificate-cache.js";
import { SecretsManagerMerchantSecretSource } from "../adapters/secrets/secrets-manager-merchant-secret-source.js";
import { createSqsClient } from "../adapters/sqs/sqs-client.js";

/**
 * The AWS clients of one function, built once per container. Endpoints come from the SDK's own configuration
 * (AWS_ENDPOINT_URL_* locally, the region in AWS): no local branches here.
 */
export function createAwsAdapters(env: { TABLE_NAME: string; SECRET_ID: string; SECRET_CACHE_SECONDS: number }) {
  const doc = createDocumentClient();
  const sqs = createSqsClient();
  const secrets = new SecretsManagerMerchantSecretSource({
    client: new SecretsManagerClient({}),
    secretId: env.SECRET_ID,
    maxAgeSeconds: env.SECRET_CACHE_SECONDS,
  });
  return { table: { doc, tableName: env.TABLE_NAME }, sqs, secrets };
}

/** The certificate cache, in platform-certificate mode only (see MerchantRuntimeOptions.certificates). */
export function certificateCacheFor(
  env: { WECHATPAY_MODE: "public_key" | "platform_certificate" },
  table: { doc: DynamoDBDocumentClient; tableName: string },
): { certificates?: DynamoDbPlatformCertificateCache } {
  return env.WECHATPAY_MODE === "platform_certificate"
    ? { certificates: new DynamoDbPlatformCertificateCache(table) }
    : {};
}

/** WeChat Pay endpoints and timeout from the function's env. */
export function wechatpayOptions(env: {
  WECHATPAY_BASE_URL: string;
  WECHATPAY_BACKUP_BASE_URL: string;
  WECHATPAY_TIMEOUT_MS: number;
}) {
  return {
    baseUrl: env.WECHATPAY_BASE_URL,
    backupBaseUrl: env.WECHATPAY_BACKUP_BASE_URL,
    timeoutMs: env.WECHATPAY_TIMEOUT_MS,
  };
}
