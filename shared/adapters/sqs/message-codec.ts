import { parseSendMessage } from "../../domain/campaigns/send-message.js";
import type { SendMessage } from "../../domain/ports.js";

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
