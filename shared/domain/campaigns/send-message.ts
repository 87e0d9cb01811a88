import { MessageFormatError } from "../errors.js";
import type { SendMessage } from "../ports.js";
import { WECHAT_SEND_LIMIT_PER_SECOND } from "../rate/send-rates.js";

const OUT_REQUEST_NO = /^[A-Za-z0-9|_*-]{1,128}$/;

function requireString(body: Record<string, unknown>, field: keyof SendMessage, pattern?: RegExp): string {
  const value = body[field];
  if (typeof value !== "string" || value.length === 0 || value.length > 128) {
    throw new MessageFormatError(field, "must be a non-empty string of at most 128 characters");
  }
  if (pattern && !pattern.test(value)) throw new MessageFormatError(field, "has characters WeChat does not accept");
  return value;
}

/** Parses a send-queue message body; anything malformed is a poison message (MessageFormatError). */
export function parseSendMessage(body: string): SendMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MessageFormatError("body", "is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new MessageFormatError("body", "is not a JSON object");
  }
  const record = parsed as Record<string, unknown>;
  const message: SendMessage = {
    mchid: requireString(record, "mchid"),
    outRequestNo: requireString(record, "outRequestNo", OUT_REQUEST_NO),
    stockId: requireString(record, "stockId"),
    openid: requireString(record, "openid"),
    appid: requireString(record, "appid"),
  };
  if (record.campaignId !== undefined) message.campaignId = requireString(record, "campaignId");
  if (record.ratePerSecond !== undefined) {
    const rate = record.ratePerSecond;
    if (typeof rate !== "number" || !Number.isInteger(rate) || rate < 1 || rate > WECHAT_SEND_LIMIT_PER_SECOND) {
      throw new MessageFormatError("ratePerSecond", `must be an integer from 1 to ${WECHAT_SEND_LIMIT_PER_SECOND}`);
    }
    message.ratePerSecond = rate;
  }
  if (record.recycled !== undefined) {
    const recycled = record.recycled;
    if (typeof recycled !== "number" || !Number.isInteger(recycled) || recycled < 0) {
      throw new MessageFormatError("recycled", "must be a non-negative integer");
    }
    message.recycled = recycled;
  }
  if (record.held !== undefined) {
    const held = record.held;
    if (typeof held !== "number" || !Number.isInteger(held) || held < 0) {
      throw new MessageFormatError("held", "must be a non-negative integer");
    }
    message.held = held;
  }
  return message;
}
