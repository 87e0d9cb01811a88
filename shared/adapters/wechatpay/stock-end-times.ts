import type { MerchantRuntime } from "./merchant-runtime.js";

/** Stocks whose end time one container remembers; beyond it the oldest is forgotten (asked again when needed). */
const MAX_CACHED_STOCKS = 1_000;

/**
 * When a stock's coupons expire: its `available_end_time` from WeChat's stock query (E8,
 * docs/wechatpay-cash-coupons.md#list-and-read-stocks-e7-e8), remembered per container. The time is fixed when the
 * stock is created (E1's field; no endpoint in docs/wechatpay-cash-coupons.md#endpoints changes it), so it never
 * goes stale. A WeChat error propagates (the caller's route answers it as any WeChat error).
 */
export class WechatStockEndTimes {
  readonly #ends = new Map<string, number>();

  constructor(private readonly merchant: Pick<MerchantRuntime, "get">) {}

  async endOf(stockId: string): Promise<number | undefined> {
    const cached = this.#ends.get(stockId);
    if (cached !== undefined) return cached;
    const { client, secret } = await this.merchant.get();
    const stock = await client.stocks.get(stockId, { stock_creator_mchid: secret.mchid });
    const end = Date.parse(stock.available_end_time);
    if (!Number.isFinite(end)) return undefined;
    if (this.#ends.size >= MAX_CACHED_STOCKS) this.#ends.delete(this.#ends.keys().next().value as string);
    this.#ends.set(stockId, end);
    return end;
  }
}
