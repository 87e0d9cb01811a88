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
 * The out_request_no of one recipient: a pure function of (campaign, chunk number, openid), so a re-posted campaign
 * or chunk, a redelivered message or a resumed upload always reuses the key and WeChat (and our ledger) de-duplicate
 * it. One-shot campaigns are chunk 0. Duplicates inside one chunk are removed before sending; the same openid in two
 * chunks is two keys, hence two coupons (two CSV lines ask for two).
 *
 * The digest covers `n\n` + openid (openids never hold a newline), so no two (chunk, openid) pairs share one. The
 * campaign id is the prefix and the digest has a fixed length, so keys of different campaigns cannot collide either.
 * Charset stays within WeChat's [A-Za-z0-9|_*-] and the length within 128 (64 + 1 + 22).
 */
export function recipientOutRequestNo(campaignId: string, openid: string, chunkNo: number): string {
  const digest = createHash("sha256").update(`${chunkNo}\n${openid}`, "utf8").digest("base64url").slice(0, 22);
  return `${campaignId}_${digest}`;
}

/** The hash that makes a re-posted chunk a replay: the openids exactly as posted (order and duplicates included). */
export function chunkHash(openids: readonly string[]): string {
  return requestHash({ openids });
}
