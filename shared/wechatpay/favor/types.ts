/**
 * Request and response models of the cash-coupon API (`/v3/marketing/favor`, docs/wechatpay-cash-coupons.md), with
 * WeChat's snake_case field names. Amounts are integers in fen; times are RFC 3339 strings.
 */

export type StockStatus = "unactivated" | "audit" | "running" | "stoped" | "paused";
export type CouponStatus = "SENDED" | "USED" | "EXPIRED";
export type TradeType = "MICROAPP" | "APPPAY" | "PPAY" | "CARD" | "FACE" | "OTHER";
export type JumpTarget = "PAYMENT_CODE" | "MINI_PROGRAM" | "DEFAULT_PAGE";
export type CouponType = "NORMAL" | "CUT_TO";

// ---- E1 create stock ----

export interface StockRule {
  max_coupons: number;
  max_amount: number;
  max_amount_by_day?: number;
  max_coupons_per_user: number;
  natural_person_limit: boolean;
  prevent_api_abuse: boolean;
}

export interface FixedNormalCoupon {
  coupon_amount: number;
  transaction_minimum: number;
}

export interface FavorAvailableTime {
  /** Seconds of the day: begin_time 0 … 86399 (required), end_time 1 … 86399 (default 23:59:59). */
  fix_available_time?: { available_week_day?: number[]; begin_time: number; end_time?: number };
  second_day_available?: boolean;
  available_time_after_receive?: number;
}

export interface CouponRule {
  fixed_normal_coupon?: FixedNormalCoupon;
  coupon_available_time?: FavorAvailableTime;
  goods_tag?: string[];
  trade_type?: TradeType[];
  combine_use?: boolean;
  available_items?: string[];
  unavailable_items?: string[];
  available_merchants?: string[];
  limit_pay?: string[];
  /** Both required (GO `CardLimitation`): name ≤ 4 Chinese characters, 1 … 10 BINs of 6 … 9 digits. */
  limit_card?: { name: string; bin: string[] };
}

export interface PatternInfo {
  description: string;
  merchant_logo?: string;
  merchant_name?: string;
  background_color?: string;
  coupon_image?: string;
  jump_target?: JumpTarget;
  mini_program_appid?: string;
  mini_program_path?: string;
}

export interface CreateStockRequest {
  stock_name: string;
  comment?: string;
  /** Must be the calling mchid. */
  belong_merchant: string;
  available_begin_time: string;
  available_end_time: string;
  stock_use_rule: StockRule;
  pattern_info?: PatternInfo;
  coupon_use_rule: CouponRule;
  no_cash: boolean;
  /** Only NORMAL is supported by WeChat. */
  stock_type: "NORMAL";
  /** Idempotency key: a retried create reuses it. */
  out_request_no: string;
  ext_info?: string;
}

export interface CreateStockResponse {
  stock_id: string;
  create_time: string;
}

// ---- E2–E5 state changes ----

export interface StockCreatorBody {
  stock_creator_mchid: string;
}
export interface StartStockResponse {
  stock_id: string;
  start_time: string;
}
export interface PauseStockResponse {
  stock_id: string;
  pause_time: string;
}
export interface RestartStockResponse {
  stock_id: string;
  restart_time: string;
}
export interface StopStockResponse {
  stock_id: string;
  stop_time: string;
}

// ---- E7/E8 stocks ----

/** GO `StockUseRule`: the four limits are required in answers (docs/wechatpay-cash-coupons.md#required-answer-fields). */
export interface StockUseRule {
  max_coupons: number;
  max_amount: number;
  max_amount_by_day: number;
  fixed_normal_coupon?: FixedNormalCoupon;
  max_coupons_per_user: number;
  coupon_type?: string;
  goods_tag?: string[];
  trade_type?: string[];
  combine_use?: boolean;
}

export interface Stock {
  stock_id: string;
  stock_creator_mchid: string;
  stock_name: string;
  status: StockStatus;
  create_time: string;
  description: string;
  stock_use_rule?: StockUseRule;
  available_begin_time: string;
  available_end_time: string;
  distributed_coupons: number;
  no_cash: boolean;
  start_time?: string;
  stop_time?: string;
  cut_to_message?: { single_price_max: number; cut_to_price: number };
  singleitem: boolean;
  stock_type: "NORMAL" | "DISCOUNT_CUT" | "OTHER";
  card_id?: string;
  business_type?: string;
}

export interface ListStocksQuery {
  /** Page index from 0 ("页码从0开始"). */
  offset: number;
  /** 1..10. */
  limit: number;
  /** Defaults to the client's mchid. */
  stock_creator_mchid?: string;
  create_start_time?: string;
  create_end_time?: string;
  status?: StockStatus;
}

export interface StockCollection {
  total_count: number;
  limit: number;
  offset: number;
  data?: Stock[];
}

// ---- E10/E11 available merchants / items ----

export interface PageQuery {
  /** Page index from 0 ("分页页码"; local/simulator/README.md#list-offsets). */
  offset: number;
  limit: number;
  /** Defaults to the client's mchid. */
  stock_creator_mchid?: string;
}

export interface AvailableCollection {
  total_count: number;
  data?: string[];
  offset: number;
  limit: number;
  stock_id: string;
}

// ---- E6 send, E9/E12 coupons ----

export interface SendCouponRequest {
  stock_id: string;
  /** Idempotency key: a retried send reuses it, and gets the same coupon_id. */
  out_request_no: string;
  appid: string;
  /** Defaults to the client's mchid. */
  stock_creator_mchid?: string;
}

export interface SendCouponResponse {
  coupon_id: string;
}

export interface Coupon {
  coupon_id?: string;
  stock_creator_mchid: string;
  stock_id: string;
  cut_to_message?: { single_price_max: number; cut_to_price: number };
  coupon_name: string;
  status: CouponStatus;
  description: string;
  create_time: string;
  coupon_type: CouponType;
  no_cash: boolean;
  available_begin_time: string;
  available_end_time: string;
  singleitem: boolean;
  normal_coupon_information?: FixedNormalCoupon;
  consume_information?: {
    consume_time: string;
    consume_mchid: string;
    transaction_id: string;
    goods_detail?: { goods_id: string; quantity: number; price: number; discount_amount: number }[];
  };
}

export interface CouponDetailQuery {
  appid: string;
}

export interface ListUserCouponsQuery {
  appid: string;
  stock_id?: string;
  status?: "SENDED" | "USED";
  /** At least one of creator_mchid, sender_mchid, available_mchid. */
  creator_mchid?: string;
  sender_mchid?: string;
  /** When given, WeChat ignores stock_id, status, offset and limit. */
  available_mchid?: string;
  /** Page index from 0 ("分页页码"): the page starts at offset × limit (local/simulator/README.md#list-offsets). */
  offset?: number;
  limit?: number;
  /** MULTIUSE: 消费金 only. */
  business_type?: "MULTIUSE";
}

export interface CouponCollection {
  data?: Coupon[];
  total_count: number;
  limit: number;
  offset: number;
}

// ---- E13/E14 flows ----

export interface FlowLink {
  url: string;
  hash_value: string;
  hash_type: string;
}

/** One record of a use-flow file (docs/wechatpay-cash-coupons.md#file-format); amounts in fen, times RFC 3339. */
export interface UseFlowRow {
  /** 批次id */
  stock_id: string;
  /** 优惠id */
  coupon_id: string;
  /** 优惠类型, e.g. 全场代金券 */
  coupon_type: string;
  /** 优惠金额（元）, in fen */
  coupon_amount: number;
  /** 订单总金额（元）, in fen */
  order_amount: number;
  /** 交易类型, e.g. 支付 */
  trade_type: string;
  /** 支付单号: WeChat's transaction id */
  transaction_id: string;
  /** 消耗时间 (Beijing), as `2020-11-27T16:23:05+08:00` */
  consume_time: string;
  /** 消耗商户号 */
  consume_mchid: string;
  /** 设备号 */
  device_no: string;
  /** 银行流水号 */
  bank_serial_no: string;
  /** 单品信息 */
  goods_info: string;
}

/** One record of a refund-flow file (layout guessed: docs/wechatpay-cash-coupons.md#refund-flow-file-format). */
export interface RefundFlowRow {
  stock_id: string;
  coupon_id: string;
  coupon_type: string;
  /** in fen (0 when the column is absent or empty) */
  coupon_amount: number;
  /** in fen (0 when the column is absent or empty) */
  order_amount: number;
  trade_type: string;
  transaction_id: string;
  /** 退款时间 (Beijing), as `2020-11-27T16:23:05+08:00` */
  refund_time: string;
  refund_mchid: string;
  refund_id: string;
  /** 退款金额（元）, in fen */
  refund_amount: number;
  /** 设备号 ("" when the column is absent) */
  device_no: string;
  /** 银行流水号 ("" when the column is absent) */
  bank_serial_no: string;
  goods_info: string;
}

// ---- E15/E16 callbacks ----

export interface SetCallbackRequest {
  /** https, reachable, no query string. */
  notify_url: string;
  /** true: push on. */
  switch?: boolean;
  /** Defaults to the client's mchid. */
  mchid?: string;
}

export interface SetCallbackResponse {
  update_time: string;
  notify_url: string;
}

export interface CallbackSettings {
  mchid: string;
  notify_url: string;
}

// ---- E17 image upload ----

export interface ImageUploadRequest {
  /** Ends in .jpg, .bmp or .png. */
  filename: string;
  bytes: Uint8Array;
}

export interface ImageUploadResponse {
  media_url: string;
}
