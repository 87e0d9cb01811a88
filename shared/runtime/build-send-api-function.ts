import { DynamoDbCampaignStore } from "../adapters/dynamodb/dynamodb-campaign-store.js";
import { DynamoDbCouponStore } from "../adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbSendLedger } from "../adapters/dynamodb/dynamodb-send-ledger.js";
import { WechatCouponGateway } from "../adapters/wechatpay/wechat-coupon-gateway.js";
import type { SendApiEnv } from "../config/env.js";
import { sendCouponRoutes } from "../edges/http/api/coupon-routes.js";
import { httpFunction, httpFunctionParts } from "./http-function.js";

/**
 * Composition root of the send-api function: POST /coupons alone, in execution environments of its own that campaign
 * posts, status reads and exports (the api function) never hold (shared/edges/http/routes.ts). Also used by the
 * local stack.
 */
export function buildSendApiFunction(env: SendApiEnv) {
  const { aws, merchantRuntime, governor, inProgressWaitMs } = httpFunctionParts(env);
  // POST /coupons sends within the merchant's budget: a 429 goes back to the route, which cuts the budget and tries
  // again with a new token (coupon-routes.ts), instead of being retried inside the client outside the budget.
  const merchant = merchantRuntime({ retryRateLimited: false });
  return httpFunction(
    "send-api",
    sendCouponRoutes({
      merchant,
      sends: {
        ledger: new DynamoDbSendLedger(aws.table),
        campaigns: new DynamoDbCampaignStore(aws.table),
        coupons: new DynamoDbCouponStore(aws.table),
        gateway: new WechatCouponGateway(merchant),
        clock: Date.now,
        // The sync path holds a send for the client's whole retry budget (timeout × attempts, with back-off).
        leaseMs: env.WECHATPAY_TIMEOUT_MS * 4,
      },
      defaultRatePerSecond: env.DEFAULT_SEND_RATE_PER_SECOND,
      // A POST /coupons waits at most 2 s for its tokens (a try after a 429 included): with up to 3 WeChat tries of
      // 5 s after it, the request stays inside the function's 20 s (infra/settings.ts).
      rate: { governor, maxWaitMs: 2_000 },
      inProgressWaitMs,
    }),
  );
}
