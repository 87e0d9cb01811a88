import { DynamoDbCampaignStore } from "#shared/adapters/dynamodb/dynamodb-campaign-store.js";
import { DynamoDbCouponStore } from "#shared/adapters/dynamodb/dynamodb-coupon-store.js";
import { DynamoDbExportStore } from "#shared/adapters/dynamodb/dynamodb-export-store.js";
import { DynamoDbNotificationInbox } from "#shared/adapters/dynamodb/dynamodb-notification-inbox.js";
import { DynamoDbPlatformCertificateCache } from "#shared/adapters/dynamodb/dynamodb-platform-certificate-cache.js";
import { DynamoDbRateCounter } from "#shared/adapters/dynamodb/dynamodb-rate-counter.js";
import { DynamoDbReconciliationStore } from "#shared/adapters/dynamodb/dynamodb-reconciliation-store.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { DynamoDbStockRequestLedger } from "#shared/adapters/dynamodb/dynamodb-stock-request-ledger.js";
import type { DynamoBackend } from "../helpers/dynamodb-backends.js";
import { campaignStoreContract } from "./suites/campaign-store-contract.js";
import { certificateCacheContract } from "./suites/certificate-cache-contract.js";
import { couponStoreContract } from "./suites/coupon-store-contract.js";
import { dynamoCouponCountChecks } from "./suites/dynamodb-coupon-count.js";
import { dynamoTableChecks } from "./suites/dynamodb-table-checks.js";
import { exportStoreContract } from "./suites/export-store-contract.js";
import { notificationInboxContract } from "./suites/notification-inbox-contract.js";
import { rateCounterContract } from "./suites/rate-counter-contract.js";
import { reconciliationStoreContract } from "./suites/reconciliation-store-contract.js";
import { sendLedgerContract } from "./suites/send-ledger-contract.js";
import { stockRequestLedgerContract } from "./suites/stock-request-ledger-contract.js";

/** Runs every DynamoDB-backed port contract against one stand-in (started by the caller's beforeAll). */
export function dynamoDbContracts(name: string, getBackend: () => DynamoBackend) {
  const options = () => ({ doc: getBackend().doc, tableName: getBackend().tableName });
  sendLedgerContract(name, () => new DynamoDbSendLedger(options()));
  stockRequestLedgerContract(name, () => new DynamoDbStockRequestLedger(options()));
  campaignStoreContract(name, () => new DynamoDbCampaignStore(options()));
  notificationInboxContract(name, () => new DynamoDbNotificationInbox(options()));
  certificateCacheContract(name, () => new DynamoDbPlatformCertificateCache(options()));
  rateCounterContract(name, () => new DynamoDbRateCounter(options()));
  couponStoreContract(name, () => new DynamoDbCouponStore(options()));
  exportStoreContract(name, () => new DynamoDbExportStore(options()));
  reconciliationStoreContract(name, () => ({
    runs: new DynamoDbReconciliationStore(options()),
    coupons: new DynamoDbCouponStore(options()),
  }));
  dynamoTableChecks(getBackend);
  dynamoCouponCountChecks(getBackend);
}
