import { parseSendMessage } from "../../domain/campaigns/send-message.js";
import { MessageFormatError } from "../../domain/errors.js";
import type { CouponEvent, SendMessage } from "../../domain/ports.js";

/**
 * Queue message bodies. The send-queue format belongs to the domain, which parses it in the worker
 * (`shared/domain/campaigns/send-message.ts`, re-exported here): camelCase JSON of `SendMessage`. The encoder copies
 * only the known fields, so nothing else (a whole command, say) can leak into a message.
 */
export { parseSendMessage };

export function encodeSendMessage(m: SendMessage): string {
  const body: SendMessage = {
    mchid: m.mchid,
    outRequestNo: m.outRequestNo,
    stockId: m.stockId,
    openid: m.openid,
    appid: m.appid,
  };
  if (m.campaignId !== undefined) body.campaignId = m.campaignId;
  if (m.ratePerSecond !== undefined) body.ratePerSecond = m.ratePerSecond;
  if (m.recycled !== undefined) body.recycled = m.recycled;
  if (m.held !== undefined) body.held = m.held;
  return JSON.stringify(body);
}

/** coupon-events body: camelCase JSON of `CouponEvent`; consumers de-duplicate by `id`. */
export function encodeCouponEvent(e: CouponEvent): string {
  const body: CouponEvent = {
    id: e.id,
    eventType: e.eventType,
    couponId: e.couponId,
    stockId: e.stockId,
    createTime: e.createTime,
    receivedAt: e.receivedAt,
    resource: e.resource,
  };
  return JSON.stringify(body);
}

export function parseCouponEvent(body: string): CouponEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new MessageFormatError("body", "is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new MessageFormatError("body", "must be an object");
  const obj = value as Record<string, unknown>;
  const str = (field: keyof CouponEvent): string => {
    const v = obj[field];
    if (typeof v !== "string" || v === "") throw new MessageFormatError(field, "must be a non-empty string");
    return v;
  };
  const resource = obj.resource;
  if (typeof resource !== "object" || resource === null || Array.isArray(resource)) {
    throw new MessageFormatError("resource", "must be an object");
  }
  if (typeof obj.receivedAt !== "number") throw new MessageFormatError("receivedAt", "must be a number");
  return {
    id: str("id"),
    eventType: str("eventType"),
    couponId: str("couponId"),
    stockId: str("stockId"),
    createTime: str("createTime"),
    receivedAt: obj.receivedAt,
    resource: resource as Record<string, unknown>,
  };
}
