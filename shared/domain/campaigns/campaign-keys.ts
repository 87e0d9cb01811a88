import { createHash } from "node:crypto";
import { requestHash } from "../sends/request-hash.js";

/** Campaign ids callers choose: short, URL-safe, usable inside an out_request_no. */
export const CAMPAIGN_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Without a caller-chosen id, the id is a fingerprint of the request: posting the same campaign twice is a replay. */
export function deriveCampaignId(fields: {
  mchid: string;
  stockId: string;
  appid: string;
  openids: readonly string[];
}): string {
  return `c${requestHash(fields).slice(0, 24)}`;
}

/**
 * The out_request_no of one recipient: a pure function of campaign and openid, so a re-posted campaign, a redelivered
 * message or a resumed upload always reuses the key and WeChat (and our ledger) de-duplicate it.
 * Charset stays within WeChat's [A-Za-z0-9|_*-] and the length within 128.
 */
export function recipientOutRequestNo(campaignId: string, openid: string): string {
  const digest = createHash("sha256").update(openid, "utf8").digest("base64url").slice(0, 22);
  return `${campaignId}_${digest}`;
}
