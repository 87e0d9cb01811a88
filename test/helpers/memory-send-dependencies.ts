import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import type { Clock } from "#shared/domain/ports.js";
import type { SendDependencies } from "#shared/domain/sends/send-coupon.js";
import type { FakeCouponGateway } from "./fake-coupon-gateway.js";

/** What `sendCoupon` needs, on the in-memory adapters, for domain unit tests: a 30 s lease. */
export function memorySendDependencies(
  gateway: FakeCouponGateway,
  clock: Clock,
): Required<Pick<SendDependencies, "ledger" | "campaigns" | "gateway" | "clock" | "leaseMs">> {
  return { ledger: new MemorySendLedger(), campaigns: new MemoryCampaignStore(), gateway, clock, leaseMs: 30_000 };
}
