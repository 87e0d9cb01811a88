/** WeChat Pay event envelope (any event type); `resource` is still encrypted. */
export interface NotificationEnvelope {
  id: string;
  create_time: string;
  event_type: string;
  resource_type: string;
  summary: string;
  resource: EncryptedResource;
}

export interface EncryptedResource {
  original_type: string;
  algorithm: string;
  ciphertext: string;
  associated_data: string;
  nonce: string;
}

/** Decrypted COUPON.USE resource (docs/wechatpay-cash-coupons.md#coupon-use-notification). */
export interface CouponUseResource {
  stock_creator_mchid: string;
  stock_id: string;
  coupon_id: string;
  coupon_name: string;
  description: string;
  status: "SENDED" | "USED" | "EXPIRED";
  create_time: string;
  coupon_type: "NORMAL" | "CUT_TO";
  no_cash: boolean;
  available_begin_time: string;
  available_end_time: string;
  singleitem: boolean;
  singleitem_discount_off?: { single_price_max: number };
  discount_to?: { cut_to_price: number; max_price: number };
  normal_coupon_information?: { coupon_amount: number; transaction_minimum: number };
  consume_information?: {
    consume_time: string;
    consume_mchid: string;
    transaction_id: string;
    consume_amount?: number;
    goods_detail?: { goods_id: string; quantity: number; price: number; discount_amount: number }[];
  };
  business_type?: string;
}

/** A verified, decrypted notification. */
export interface ParsedNotification<Resource = unknown> {
  envelope: NotificationEnvelope;
  resource: Resource;
  /** Decrypted resource exactly as WeChat sent it. */
  plaintext: string;
  serial: string;
  requestId: string | undefined;
}
