import type { CampaignDependencies } from "../../domain/campaigns/create-campaign.js";
import type { NotificationInbox, SendLedger } from "../../domain/ports.js";
import type { SendDependencies } from "../../domain/sends/send-coupon.js";
import type { CreateStockDependencies } from "../../domain/stocks/create-stock.js";
import type { MerchantRuntime } from "../../runtime/merchant-runtime.js";

/** Everything the API routes use, composed once per container (shared/runtime/build-api-function.ts). */
export interface ApiServices {
  merchant: MerchantRuntime;
  sends: SendDependencies;
  stocks: CreateStockDependencies;
  campaigns: CampaignDependencies;
  ledger: SendLedger;
  inbox: NotificationInbox;
  defaultRatePerSecond: number;
  /** How long a duplicate POST /coupons waits for the first one to finish before answering 409. */
  inProgressWaitMs: number;
}
