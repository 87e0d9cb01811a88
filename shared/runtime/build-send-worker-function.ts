import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDbCampaignStore } from "../adapters/dynamodb/dynamodb-campaign-store.js";
import { DynamoDbCouponStore } from "../adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbRateCounter } from "../adapters/dynamodb/dynamodb-rate-counter.js";
import { DynamoDbSendLedger } from "../adapters/dynamodb/dynamodb-send-ledger.js";
import { SqsDeadLetterSink } from "../adapters/sqs/sqs-dead-letter-sink.js";
import { SqsSendQueue } from "../adapters/sqs/sqs-send-queue.js";
import { MerchantRuntime } from "../adapters/wechatpay/merchant-runtime.js";
import { WechatCouponGateway } from "../adapters/wechatpay/wechat-coupon-gateway.js";
import type { SendWorkerEnv } from "../config/env.js";
import { RateGovernor } from "../domain/rate/rate-governor.js";
import { createSendWorkerHandler } from "../edges/sqs/send-worker-handler.js";
import { logger } from "../observability/logger.js";
import { certificateCacheFor, createAwsAdapters, wechatpayOptions } from "./aws-adapters.js";

/** Composition root of the send worker (also used by the local stack). */
export function buildSendWorkerFunction(env: SendWorkerEnv) {
  const aws = createAwsAdapters(env);
  const runtime = new MerchantRuntime({
    secrets: aws.secrets,
    ...certificateCacheFor(env, aws.table),
    // A 429 goes straight back to the governor, which slows the whole campaign, instead of being retried inside the
    // client outside its budget; the message returns in 2–4 s with a 429 budget of its own (MAX_RATE_LIMITED_ATTEMPTS).
    wechatpay: { ...wechatpayOptions(env), retryRateLimited: false },
  });
  return createSendWorkerHandler({
    ledger: new DynamoDbSendLedger(aws.table),
    campaigns: new DynamoDbCampaignStore(aws.table),
    coupons: new DynamoDbCouponStore(aws.table),
    gateway: new WechatCouponGateway(runtime),
    clock: Date.now,
    // Longer than one send's whole retry budget in the client, so two workers never call WeChat for one send at once.
    leaseMs: env.WECHATPAY_TIMEOUT_MS * 4,
    governor: new RateGovernor(new DynamoDbRateCounter(aws.table), Date.now, (ms) => sleep(ms)),
    defaultRatePerSecond: env.SEND_RATE_PER_SECOND,
    maxRateWaitMs: 10_000,
    maxReceiveCount: env.SEND_MAX_RECEIVE_COUNT,
    queue: new SqsSendQueue({ client: aws.sqs, queueUrl: env.SEND_QUEUE_URL }),
    deadLetters: new SqsDeadLetterSink({ client: aws.sqs, queueUrl: env.SEND_DLQ_URL }),
    logger,
  });
}
