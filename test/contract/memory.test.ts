import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemoryCouponStore } from "#shared/adapters/memory/memory-coupon-store.js";
import { MemoryExportStore } from "#shared/adapters/memory/memory-export-store.js";
import { MemoryNotificationInbox } from "#shared/adapters/memory/memory-notification-inbox.js";
import { MemoryPlatformCertificateCache } from "#shared/adapters/memory/memory-platform-certificate-cache.js";
import { MemoryRateCounter } from "#shared/adapters/memory/memory-rate-counter.js";
import { MemoryReconciliationStore } from "#shared/adapters/memory/memory-reconciliation-store.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import { MemoryStockRequestLedger } from "#shared/adapters/memory/memory-stock-request-ledger.js";
import { campaignStoreContract } from "./suites/campaign-store-contract.js";
import { certificateCacheContract } from "./suites/certificate-cache-contract.js";
import { couponStoreContract } from "./suites/coupon-store-contract.js";
import { exportStoreContract } from "./suites/export-store-contract.js";
import { notificationInboxContract } from "./suites/notification-inbox-contract.js";
import { rateCounterContract } from "./suites/rate-counter-contract.js";
import { reconciliationStoreContract } from "./suites/reconciliation-store-contract.js";
import { sendLedgerContract } from "./suites/send-ledger-contract.js";
import { stockRequestLedgerContract } from "./suites/stock-request-ledger-contract.js";

// The in-memory fakes are the reference: every other implementation runs the same suites.
sendLedgerContract("memory", () => new MemorySendLedger());
stockRequestLedgerContract("memory", () => new MemoryStockRequestLedger());
campaignStoreContract("memory", () => new MemoryCampaignStore());
notificationInboxContract("memory", () => new MemoryNotificationInbox());
certificateCacheContract("memory", () => new MemoryPlatformCertificateCache());
rateCounterContract("memory", () => new MemoryRateCounter());
couponStoreContract("memory", () => new MemoryCouponStore());
exportStoreContract("memory", () => new MemoryExportStore());
reconciliationStoreContract("memory", () => {
  const coupons = new MemoryCouponStore();
  return { runs: new MemoryReconciliationStore(coupons), coupons };
});
