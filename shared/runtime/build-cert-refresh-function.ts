import { DynamoDbPlatformCertificateCache } from "../adapters/dynamodb/dynamodb-platform-certificate-cache.js";
import { MerchantRuntime } from "../adapters/wechatpay/merchant-runtime.js";
import type { CertRefreshEnv } from "../config/env.js";
import { logger } from "../observability/logger.js";
import { createAwsAdapters, wechatpayOptions } from "./aws-adapters.js";

/**
 * Composition root of cert-refresh (platform-certificate mode, on a schedule): download WeChat's current platform
 * certificates (verified and decrypted by the client) and share them with every function through the table.
 */
export function buildCertRefreshFunction(env: CertRefreshEnv) {
  const aws = createAwsAdapters(env);
  const cache = new DynamoDbPlatformCertificateCache(aws.table);
  const merchant = new MerchantRuntime({ secrets: aws.secrets, certificates: cache, wechatpay: wechatpayOptions(env) });
  return async (): Promise<{ certificates: string[] }> => {
    const { client } = await merchant.get();
    const certificates = await client.certificates.download();
    const fetchedAt = Date.now();
    for (const c of certificates) {
      await cache.put({
        serial: c.serialNo,
        pem: c.pem,
        effectiveTime: c.effectiveTime,
        expireTime: c.expireTime,
        fetchedAt,
      });
    }
    logger.info("platform certificates refreshed", { serials: certificates.map((c) => c.serialNo) });
    return { certificates: certificates.map((c) => c.serialNo) };
  };
}
