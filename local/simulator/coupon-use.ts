import { randomInt, randomUUID } from "node:crypto";
import { formatRfc3339 } from "./clock.js";
import type { SimContext } from "./context.js";
import { encryptAeadAesGcm } from "./crypto/aes-gcm.js";
import { randomNonce, randomRequestId } from "./crypto/nonce.js";
import { SimulatorError } from "./errors.js";
import { chooseSigner, wechatpayHeaders } from "./signing.js";
import type { CouponRecord, StockRecord } from "./state/records.js";
import { couponStatus, couponView } from "./views.js";

/** A 28-digit WeChat transaction id (`4200…`). */
function transactionId(): string {
  let id = "4200";
  while (id.length < 28) id += String(randomInt(10));
  return id;
}

/**
 * Envelope of a COUPON.USE notification (docs/wechatpay-cash-coupons.md#coupon-use-notification); the resource is the
 * coupon with consume_information.
 */
export function couponUseEnvelope(
  ctx: SimContext,
  coupon: CouponRecord,
  stock: StockRecord,
): { id: string; body: string } {
  const plaintext = JSON.stringify(couponView(coupon, stock, ctx.clock.now(), true));
  const nonce = randomNonce(12);
  const id = randomUUID();
  const body = JSON.stringify({
    id,
    create_time: formatRfc3339(ctx.clock.now()),
    resource_type: "encrypt-resource",
    event_type: "COUPON.USE",
    summary: "用券成功",
    resource: {
      original_type: "coupon",
      algorithm: "AEAD_AES_256_GCM",
      ciphertext: encryptAeadAesGcm(Buffer.from(ctx.keys.apiv3Key, "utf8"), nonce, "coupon", plaintext),
      associated_data: "coupon",
      nonce,
    },
  });
  return { id, body };
}

/** Headers of one notification attempt; notifications are signed with the mode's key. */
export async function notificationHeaders(ctx: SimContext, body: string): Promise<Record<string, string>> {
  return {
    "Content-Type": "application/json",
    "User-Agent": "Mozilla/4.0",
    "Request-ID": randomRequestId(),
    ...(await wechatpayHeaders(ctx, chooseSigner(ctx, undefined), body)),
  };
}

export interface UseInput {
  consume_amount?: number;
  transaction_id?: string;
  consume_mchid?: string;
}

/** Marks a coupon USED, records its use-flow row and queues the COUPON.USE notification. */
export function useCoupon(ctx: SimContext, couponId: string, input: UseInput) {
  const coupon = ctx.store.coupons.get(couponId);
  const stock = coupon && ctx.store.stocks.get(coupon.stock_id);
  if (!coupon || !stock) throw new SimulatorError("COUPON_NOT_FOUND", `coupon ${couponId} does not exist`);
  const now = ctx.clock.now();
  const status = couponStatus(coupon, now);
  if (status !== "SENDED") throw new SimulatorError("COUPON_NOT_USABLE", `coupon ${couponId} is ${status}`);
  if (now < coupon.begin) throw new SimulatorError("COUPON_NOT_USABLE", `coupon ${couponId} is not yet valid`);
  const minimum = stock.body.coupon_use_rule.fixed_normal_coupon?.transaction_minimum ?? 0;
  const orderAmount = input.consume_amount ?? minimum;
  if (!Number.isSafeInteger(orderAmount) || orderAmount < minimum)
    throw new SimulatorError("BAD_AMOUNT", `consume_amount must be an integer ≥ transaction_minimum (${minimum})`, {
      field: "consume_amount",
    });
  const used: CouponRecord = {
    ...coupon,
    // a coupon refunded and used again: WeChat's use-flow file has a row per use
    // (docs/wechatpay-cash-coupons.md#use-flow-and-refund-flow-files-e13-e14)
    ...(coupon.consume ? { earlier_uses: [...(coupon.earlier_uses ?? []), coupon.consume] } : {}),
    status: "USED",
    consume: {
      consume_time: now,
      consume_mchid: input.consume_mchid ?? stock.creator_mchid,
      transaction_id: input.transaction_id ?? transactionId(),
      order_amount: orderAmount,
    },
  };
  ctx.store.record({ k: "coupon", v: used });
  const callback = ctx.store.callbacks.get(stock.creator_mchid);
  let notificationId: string | undefined;
  if (callback?.switch) {
    const { id, body } = couponUseEnvelope(ctx, used, stock);
    ctx.notifier.enqueue(callback.notify_url, id, "COUPON.USE", body);
    notificationId = id;
  }
  return {
    coupon_id: used.coupon_id,
    status: "USED",
    consume_information: couponView(used, stock, now, true)["consume_information"],
    notification_id: notificationId ?? null,
  };
}

export interface RefundInput {
  refund_amount?: number;
  refund_id?: string;
}

/** Records a refund-flow row and, as our guess of WeChat's behaviour, gives the coupon back (status SENDED). */
export function refundCoupon(ctx: SimContext, couponId: string, input: RefundInput) {
  const coupon = ctx.store.coupons.get(couponId);
  if (!coupon?.consume) throw new SimulatorError("COUPON_NOT_USED", `coupon ${couponId} is not used`);
  if (coupon.status !== "USED") throw new SimulatorError("COUPON_NOT_USED", `coupon ${couponId} is not used`);
  const amount = input.refund_amount ?? coupon.consume.order_amount;
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new SimulatorError("BAD_AMOUNT", "refund_amount must be a positive integer", { field: "refund_amount" });
  const now = ctx.clock.now();
  const refund = {
    coupon_id: coupon.coupon_id,
    stock_id: coupon.stock_id,
    refund_id: input.refund_id ?? `5030${String(now)}${String(randomInt(1_000_000)).padStart(6, "0")}`,
    refund_amount: amount,
    refund_time: now,
    refund_mchid: coupon.consume.consume_mchid,
    transaction_id: coupon.consume.transaction_id,
  };
  ctx.store.record({ k: "refund", v: refund });
  ctx.store.record({ k: "coupon", v: { ...coupon, status: "SENDED" } });
  return { ...refund, refund_time: formatRfc3339(now), status: "SENDED" };
}
