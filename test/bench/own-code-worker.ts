/**
 * The send worker wired over the in-memory adapters of its ports, its WeChat client answered by `send` (see
 * own-code.ts). Imported after the bench has set the Powertools environment. Rate waits pass on a virtual clock, so
 * the figure is CPU, not waiting.
 */
import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryDeadLetterSink } from "#shared/adapters/memory/memory-dead-letter-sink.js";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { StaticMerchantSecretSource } from "#shared/adapters/memory/static-merchant-secret-source.js";
import { encodeSendMessage } from "#shared/adapters/sqs/message-codec.js";
import { MerchantRuntime } from "#shared/adapters/wechatpay/merchant-runtime.js";
import { WechatCouponGateway } from "#shared/adapters/wechatpay/wechat-coupon-gateway.js";
import { createCampaign } from "#shared/domain/campaigns/create-campaign.js";
import type { MerchantSecret } from "#shared/domain/ports.js";
import { RateGovernor } from "#shared/domain/rate/rate-governor.js";
import { createSendWorkerHandler } from "#shared/edges/sqs/send-worker-handler.js";
import { logger } from "#shared/observability/logger.js";
import type { HttpSend } from "#shared/wechatpay/index.js";
import { FakeCouponGateway } from "../helpers/fake-coupon-gateway.js";

const STOCK_ID = "9856000";

export function sendWorkerOverMemory({ secret, send }: { secret: MerchantSecret; send: HttpSend }) {
  let skippedMs = 0;
  const clock = () => Date.now() + skippedMs;
  const campaigns = new MemoryCampaignStore();
  const queue = new MemorySendQueue();
  const campaignIds: string[] = [];
  const runtime = new MerchantRuntime({
    secrets: new StaticMerchantSecretSource(secret),
    wechatpay: {
      baseUrl: "https://api.mch.weixin.qq.com",
      backupBaseUrl: "https://api2.mch.weixin.qq.com",
      timeoutMs: 5_000,
      retryRateLimited: false,
      send,
    },
  });
  const ledger = new MemorySendLedger();
  const handler = createSendWorkerHandler({
    ledger,
    campaigns,
    coupons: new MemoryCouponStore(),
    gateway: new WechatCouponGateway(runtime),
    clock,
    leaseMs: 20_000,
    governor: new RateGovernor(new MemoryRateCounter(), clock, async (ms) => {
      skippedMs += Math.max(0, ms); // a waiter behind one that already moved the clock never moves it back
    }),
    defaultRatePerSecond: 400,
    maxRateWaitMs: 10_000,
    maxReceiveCount: 5,
    queue,
    deadLetters: new MemoryDeadLetterSink(),
    logger,
  });
  return {
    handler,
    /** Creates a campaign of `openids` and returns its queue message bodies. */
    async enqueueCampaign(openids: string[], ratePerSecond: number): Promise<string[]> {
      const { campaign } = await createCampaign(
        // The campaign is only a source of queue messages here: its pre-flight sees a running stock.
        { campaigns, ledger, queue, clock, gateway: new FakeCouponGateway() },
        { mchid: secret.mchid, stockId: STOCK_ID, appid: secret.appid!, openids, ratePerSecond },
      );
      campaignIds.push(campaign.id);
      return queue.drain().map(encodeSendMessage);
    },
    /** Coupons counted SENT across the campaigns. */
    async sent(): Promise<number> {
      const records = await Promise.all(campaignIds.map((id) => campaigns.get(id)));
      return records.reduce((n, r) => n + (r?.sent ?? 0), 0);
    },
  };
}
