/** Records the simulator keeps. Times are epoch milliseconds of the business clock. */

export type StockStatus = "unactivated" | "running" | "paused" | "stoped";
export const STOCK_STATUSES: readonly string[] = ["unactivated", "audit", "running", "stoped", "paused"];

export interface FixedNormalCoupon {
  coupon_amount: number;
  transaction_minimum: number;
}

export interface CreateStockBody {
  stock_name: string;
  comment?: string;
  belong_merchant: string;
  available_begin_time: string;
  available_end_time: string;
  stock_use_rule: {
    max_coupons: number;
    max_amount: number;
    max_amount_by_day?: number;
    max_coupons_per_user: number;
    natural_person_limit: boolean;
    prevent_api_abuse: boolean;
  };
  pattern_info?: {
    description: string;
    merchant_logo?: string;
    merchant_name?: string;
    background_color?: string;
    coupon_image?: string;
    jump_target?: string;
    mini_program_appid?: string;
    mini_program_path?: string;
  };
  coupon_use_rule: {
    fixed_normal_coupon?: FixedNormalCoupon;
    coupon_available_time?: {
      fix_available_time?: { available_week_day?: number[]; begin_time: number; end_time?: number };
      second_day_available?: boolean;
      available_time_after_receive?: number;
    };
    goods_tag?: string[];
    trade_type?: string[];
    combine_use?: boolean;
    available_items?: string[];
    unavailable_items?: string[];
    available_merchants?: string[];
    limit_pay?: string[];
    limit_card?: { name: string; bin: string[] };
  };
  no_cash: boolean;
  stock_type: string;
  out_request_no: string;
  ext_info?: string;
}

export interface StockRecord {
  stock_id: string;
  creator_mchid: string;
  out_request_no: string;
  /** Canonical form of the create request, to tell a replay from a conflicting reuse of out_request_no. */
  fingerprint: string;
  body: CreateStockBody;
  status: StockStatus;
  begin: number;
  end: number;
  create_time: number;
  start_time?: number;
  pause_time?: number;
  restart_time?: number;
  stop_time?: number;
}

export interface ConsumeInformation {
  consume_time: number;
  consume_mchid: string;
  transaction_id: string;
  /** Order total in fen, only for the use-flow file. */
  order_amount: number;
}

export interface CouponRecord {
  coupon_id: string;
  stock_id: string;
  openid: string;
  appid: string;
  sender_mchid: string;
  out_request_no: string;
  fingerprint: string;
  /** Natural person behind the openid at issue time (natural_person_limit). */
  person?: string;
  create_time: number;
  begin: number;
  end: number;
  status: "SENDED" | "USED";
  /** The latest use (kept after a refund, which gives the coupon back). */
  consume?: ConsumeInformation;
  /** Uses before the latest one, each refunded: the use-flow file lists every use. */
  earlier_uses?: ConsumeInformation[];
}

export interface UserRecord {
  openid: string;
  /** When set, the openid belongs to this appid only. */
  appid?: string;
  risky?: boolean;
  natural_person_id?: string;
}

export interface CallbackRecord {
  mchid: string;
  notify_url: string;
  switch: boolean;
  update_time: number;
}

export interface ImageRecord {
  media_url: string;
  mchid: string;
  filename: string;
  sha256: string;
  size: number;
  upload_time: number;
}

export interface RefundRecord {
  coupon_id: string;
  stock_id: string;
  refund_id: string;
  refund_amount: number;
  refund_time: number;
  refund_mchid: string;
  transaction_id: string;
}

/** A merchant besides the primary one, registered through the control API. */
export interface MerchantRecord {
  mchid: string;
  serial_no: string;
  public_key_pem: string;
  appids: string[];
  /** Creators whose stocks this merchant may send (cross-merchant authorization). */
  authorized_by: string[];
}

export type JournalEntry =
  | { k: "stock"; v: StockRecord }
  | { k: "coupon"; v: CouponRecord }
  | { k: "user"; v: UserRecord }
  | { k: "callback"; v: CallbackRecord }
  | { k: "image"; v: ImageRecord }
  | { k: "refund"; v: RefundRecord }
  | { k: "merchant"; v: MerchantRecord }
  | { k: "clock"; offsetMs: number }
  | { k: "seq"; stock: number; coupon: number }
  | { k: "reset" };
