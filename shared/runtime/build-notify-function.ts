import { DynamoDbCouponStore } from "../adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbNotificationInbox } from "../adapters/dynamodb/dynamodb-notification-inbox.js";
import { MerchantRuntime } from "../adapters/wechatpay/merchant-runtime.js";
import type { NotifyEnv } from "../config/env.js";
import { createNotifyHandler } from "../edges/http/notify-handler.js";
import { logger } from "../observability/logger.js";
import { certificateCacheFor, createAwsAdapters, wechatpayOptions } from "./aws-adapters.js";

/** Composition root of the notify function (also used by the local stack). */
export function buildNotifyFunction(env: NotifyEnv) {
  const aws = createAwsAdapters(env);
  const runtime = new MerchantRuntime({
    secrets: aws.secrets,
    ...certificateCacheFor(env, aws.table),
    wechatpay: wechatpayOptions(env),
  });
  return createNotifyHandler({
    inbox: new DynamoDbNotificationInbox({ ...aws.table, retentionDays: 30 }),
    coupons: new DynamoDbCouponStore(aws.table),
    clock: Date.now,
    logger,
    keys: async () => {
      const { client, secret } = await runtime.get();
      return { verificationKeys: client.verificationKeys, apiv3Key: secret.apiv3Key };
    },
  });
}
