import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import type { WorkerDependencies } from "#shared/domain/campaigns/process-send-batch.js";
import type { Clock } from "#shared/domain/ports.js";
import { RateGovernor } from "#shared/domain/rate/rate-governor.js";
import type { SendDependencies } from "#shared/domain/sends/send-coupon.js";
import type { FakeCouponGateway } from "./fake-coupon-gateway.js";

/** What `sendCoupon` needs, on the in-memory adapters, for domain unit tests: a 30 s lease. */
export function memorySendDependencies(
  gateway: FakeCouponGateway,
  clock: Clock,
): Required<Pick<SendDependencies, "ledger" | "campaigns" | "coupons" | "gateway" | "clock" | "leaseMs">> {
  return {
    ledger: new MemorySendLedger(),
    campaigns: new MemoryCampaignStore(),
    coupons: new MemoryCouponStore(),
    gateway,
    clock,
    leaseMs: 30_000,
  };
}

/**
 * What `processSendBatch` needs on the in-memory adapters: the send dependencies, a rate governor whose waits move
 * the test's clock (`advance`), a 400/s send ceiling, a 5 s rate wait and the deployed 10 receives.
 */
export function memoryWorkerDependencies(
  gateway: FakeCouponGateway,
  clock: Clock,
  advance: (ms: number) => void,
): WorkerDependencies {
  return {
    ...memorySendDependencies(gateway, clock),
    governor: new RateGovernor(new MemoryRateCounter(), clock, async (ms) => advance(ms)),
    defaultRatePerSecond: 400,
    maxRateWaitMs: 5_000,
    maxReceiveCount: 10,
  };
}
