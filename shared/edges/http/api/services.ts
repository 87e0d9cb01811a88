import type { CampaignDependencies } from "../../../domain/campaigns/create-campaign.js";
import type { TestEventSink } from "../../../domain/events/forwarding.js";
import type {
  CouponStore,
  ExportLinks,
  ExportQueue,
  ExportStore,
  MerchantSecret,
  NotificationInbox,
  ReconciliationStore,
} from "../../../domain/ports.js";
import type { RateGovernor } from "../../../domain/rate/rate-governor.js";
import type { SendDependencies } from "../../../domain/sends/send-coupon.js";
import type { CreateStockDependencies } from "../../../domain/stocks/create-stock.js";
import type { WechatPayClient } from "../../../wechatpay/client.js";

/** What both HTTP functions' routes use (shared/runtime/http-function.ts builds these the same way for both). */
interface HttpServices {
  /** The merchant's secret and WeChat client, for the routes that pass a query through to WeChat. */
  merchant: { get(): Promise<{ secret: MerchantSecret; client: WechatPayClient }> };
  /** The merchant's send budget per second (the ceiling every send shares, SEND_RATE_PER_SECOND). */
  defaultRatePerSecond: number;
  /** How long a duplicate keyed request (POST /coupons, POST /stocks) waits for the first one before answering 409. */
  inProgressWaitMs: number;
}

/** What POST /coupons uses, composed once per container of the send-api function (build-send-api-function.ts). */
export interface SendApiServices extends HttpServices {
  sends: SendDependencies;
  /** POST /coupons takes its token here; `maxWaitMs` bounds its wait when the budget is spent. */
  rate: { governor: RateGovernor; maxWaitMs: number };
}

/** Everything the api function's routes use, composed once per container (shared/runtime/build-api-function.ts). */
export interface ApiServices extends HttpServices {
  stocks: CreateStockDependencies;
  campaigns: CampaignDependencies;
  inbox: NotificationInbox;
  /** Coupon lifecycle records and campaign use totals (GET /coupons/{coupon_id}, …/coupons, …/report). */
  coupons: CouponStore;
  /** Reconciliation runs with WeChat's flow files (POST/GET /reconciliations) and the ids of new ones. */
  reconciliations: { runs: ReconciliationStore; newId: () => string };
  /** A stock's available_end_time (epoch ms): when its unused coupons turn EXPIRED. */
  stockEnd: (stockId: string) => Promise<number | undefined>;
  /** CSV exports: their records, the export bucket (download links) and the export function's queue. */
  exports: { store: ExportStore; links: ExportLinks; queue: ExportQueue };
  /** Test sends to the HTTP event consumers (POST /webhooks/test). */
  forwardTest: TestEventSink;
  /** The merchant's send budget, read for a campaign's status (whether it waited for rate). */
  rate: { governor: RateGovernor };
  /** How long a pause or cancel waits before it is acknowledged (default CONTROL_SETTLE_MS); tests shorten it. */
  campaignControlSettleMs?: number;
}
