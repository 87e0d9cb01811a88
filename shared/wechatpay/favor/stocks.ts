import { FAVOR_PATH, type FavorContext, segment } from "./context.js";
import type {
  AvailableCollection,
  CreateStockRequest,
  CreateStockResponse,
  ListStocksQuery,
  PageQuery,
  PauseStockResponse,
  RestartStockResponse,
  StartStockResponse,
  Stock,
  StockCollection,
  StopStockResponse,
} from "./types.js";
import {
  validateAvailableItemsQuery,
  validateAvailableMerchantsQuery,
  validateCreateStock,
  validateListStocksQuery,
  validateMchid,
  validatePathParam,
} from "./validation.js";

type StateChange = "start" | "pause" | "restart" | "stop";

/**
 * Stock endpoints (E1–E5, E7, E8, E10, E11). `stock_creator_mchid` defaults to the client's merchant.
 *
 * @example
 * const { stock_id } = await client.stocks.create({ stock_name: "新客立减", belong_merchant: mchid, … });
 * await client.stocks.start(stock_id);
 */
export class StocksApi {
  constructor(private readonly context: FavorContext) {}

  /** E1. Idempotent on out_request_no, so it is retried on network errors and 5xx. */
  async create(body: CreateStockRequest): Promise<CreateStockResponse> {
    validateCreateStock(body, { mchid: this.context.mchid, now: this.context.now() });
    const { data } = await this.context.http.request<CreateStockResponse>({
      method: "POST",
      path: `${FAVOR_PATH}/coupon-stocks`,
      json: body,
      idempotent: true,
    });
    return data;
  }

  /** E2: unactivated → running (a prepaid stock locks its budget). Not retried: the outcome of a lost answer is unknown. */
  start(stockId: string, options: { stock_creator_mchid?: string } = {}): Promise<StartStockResponse> {
    return this.changeState<StartStockResponse>("start", stockId, options);
  }

  /** E3: running → paused. */
  pause(stockId: string, options: { stock_creator_mchid?: string } = {}): Promise<PauseStockResponse> {
    return this.changeState<PauseStockResponse>("pause", stockId, options);
  }

  /** E4: paused → running. */
  restart(stockId: string, options: { stock_creator_mchid?: string } = {}): Promise<RestartStockResponse> {
    return this.changeState<RestartStockResponse>("restart", stockId, options);
  }

  /** E5: terminates a stock that was never activated. */
  stop(stockId: string, options: { stock_creator_mchid?: string } = {}): Promise<StopStockResponse> {
    return this.changeState<StopStockResponse>("stop", stockId, options);
  }

  /** E7: one page (`offset` is a page index, `limit` ≤ 10). */
  async list(query: ListStocksQuery): Promise<StockCollection> {
    const full = { ...query, stock_creator_mchid: query.stock_creator_mchid ?? this.context.mchid };
    validateListStocksQuery(full);
    const { data } = await this.context.http.request<StockCollection>({
      method: "GET",
      path: `${FAVOR_PATH}/stocks`,
      query: {
        offset: full.offset,
        limit: full.limit,
        stock_creator_mchid: full.stock_creator_mchid,
        create_start_time: full.create_start_time,
        create_end_time: full.create_end_time,
        status: full.status,
      },
    });
    return data;
  }

  /** E8. */
  async get(stockId: string, options: { stock_creator_mchid?: string } = {}): Promise<Stock> {
    validatePathParam("stock_id", stockId);
    const creator = options.stock_creator_mchid ?? this.context.mchid;
    validateMchid("stock_creator_mchid", creator);
    const { data } = await this.context.http.request<Stock>({
      method: "GET",
      path: `${FAVOR_PATH}/stocks/${segment(stockId)}`,
      query: { stock_creator_mchid: creator },
    });
    return data;
  }

  /** E10: merchants where the stock's coupons can be used (offset ≤ 1000, limit ≤ 50). */
  async merchants(stockId: string, query: PageQuery): Promise<AvailableCollection> {
    validatePathParam("stock_id", stockId);
    const full = { ...query, stock_creator_mchid: query.stock_creator_mchid ?? this.context.mchid };
    validateAvailableMerchantsQuery(full);
    return this.page(`${FAVOR_PATH}/stocks/${segment(stockId)}/merchants`, full);
  }

  /** E11: goods codes the stock applies to (offset ≤ 500, limit ≤ 100). */
  async items(stockId: string, query: PageQuery): Promise<AvailableCollection> {
    validatePathParam("stock_id", stockId);
    const full = { ...query, stock_creator_mchid: query.stock_creator_mchid ?? this.context.mchid };
    validateAvailableItemsQuery(full);
    return this.page(`${FAVOR_PATH}/stocks/${segment(stockId)}/items`, full);
  }

  private async page(path: string, query: Required<PageQuery>): Promise<AvailableCollection> {
    const { data } = await this.context.http.request<AvailableCollection>({
      method: "GET",
      path,
      query: { offset: query.offset, limit: query.limit, stock_creator_mchid: query.stock_creator_mchid },
    });
    return data;
  }

  private async changeState<T>(
    action: StateChange,
    stockId: string,
    options: { stock_creator_mchid?: string },
  ): Promise<T> {
    validatePathParam("stock_id", stockId);
    const creator = options.stock_creator_mchid ?? this.context.mchid;
    validateMchid("stock_creator_mchid", creator);
    const { data } = await this.context.http.request<T>({
      method: "POST",
      path: `${FAVOR_PATH}/stocks/${segment(stockId)}/${action}`,
      json: { stock_creator_mchid: creator },
    });
    return data;
  }
}
