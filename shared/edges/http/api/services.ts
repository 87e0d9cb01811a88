import type { CampaignDependencies } from "../../../domain/campaigns/create-campaign.js";
import type {
  CouponStore,
  ExportObjects,
  ExportQueue,
  ExportStore,
  MerchantSecret,
  NotificationInbox,
} from "../../../domain/ports.js";
import type { SendDependencies } from "../../../domain/sends/send-coupon.js";
import type { CreateStockDependencies } from "../../../domain/stocks/create-stock.js";
import type { WechatPayClient } from "../../../wechatpay/client.js";

/** Everything the API routes use, composed once per container (shared/runtime/build-api-function.ts). */
export interface ApiServices {
  /** The merchant's secret and WeChat client, for the routes that pass a query through to WeChat. */
  merchant: { get(): Promise<{ secret: MerchantSecret; client: WechatPayClient }> };
  sends: SendDependencies;
  stocks: CreateStockDependencies;
  campaigns: CampaignDependencies;
  inbox: NotificationInbox;
  /** Coupon lifecycle records and campaign use totals (GET /coupons/{coupon_id}, …/coupons, …/report). */
  coupons: CouponStore;
  /** A stock's available_end_time (epoch ms): when its unused coupons turn EXPIRED. */
  stockEnd: (stockId: string) => Promise<number | undefined>;
  /** CSV exports: their records, the export bucket (download links) and the export function's queue. */
  exports: { store: ExportStore; objects: ExportObjects; queue: ExportQueue };
  defaultRatePerSecond: number;
  /** How long a pause or cancel waits before it is acknowledged (default CONTROL_SETTLE_MS); tests shorten it. */
  campaignControlSettleMs?: number;
  /** How long a duplicate keyed request (POST /coupons, POST /stocks) waits for the first one before answering 409. */
  inProgressWaitMs: number;
}
