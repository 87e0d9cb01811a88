import type { CampaignRecord, NewSendRecord, SendLedger, SendMessage, SendQueue, SendRecord } from "../ports.js";
import { sendRequestHash } from "../sends/send-coupon.js";
import { recipientOutRequestNo } from "./campaign-keys.js";

/** Recipients written, then queued, per step of `queueRecipients`. */
const PIPELINE_SLICE = 500;

/** The campaign fields a recipient's send carries. */
export type CampaignSendFields = Pick<CampaignRecord, "id" | "mchid" | "stockId" | "appid" | "ratePerSecond">;

/** The queue message of one recipient of a campaign. */
export function recipientMessage(campaign: CampaignSendFields, openid: string, outRequestNo: string): SendMessage {
  const { id, mchid, stockId, appid, ratePerSecond } = campaign;
  return { mchid, outRequestNo, campaignId: id, stockId, openid, appid, ratePerSecond };
}

/** The queue message that carries on a send whose record exists (the sweeper queues lost sends again from these). */
export function messageOfRecord(campaign: CampaignSendFields, record: SendRecord): SendMessage {
  return recipientMessage(campaign, record.openid, record.outRequestNo);
}

/**
 * The send record a recipient's send claims: the same request hash the worker's `sendCoupon` computes. Also what a
 * cancel writes over a never-leased one (`withdrawSend`, the sweeper).
 */
export function recipientRecord(message: SendMessage, createdAt: number): NewSendRecord {
  const { mchid, outRequestNo, stockId, openid, appid, campaignId } = message;
  return {
    mchid,
    outRequestNo,
    requestHash: sendRequestHash({ mchid, outRequestNo, stockId, openid, appid, stockCreatorMchid: mchid }),
    stockId,
    openid,
    appid,
    ...(campaignId === undefined ? {} : { campaignId }),
    createdAt,
  };
}

/**
 * Makes one chunk's recipients durable, then queues them: a PENDING send record per recipient is written before its
 * message exists, so a lost message leaves a record the sweeper finds (shared/domain/campaigns/sweep-campaigns.ts).
 * Both steps are idempotent (on a replay records are put only where none exists; a repeated message is de-duplicated
 * by the send's ledger record), so a caller that failed anywhere posts the same chunk again. `fresh`: the campaign or
 * chunk was created by this very post, so its records are written in unconditional batches (`SendLedger.prepare`).
 * The work is bounded by the chunk's size (MAX_CAMPAIGN_RECIPIENTS in shared/edges/http/schemas.ts).
 */
export async function queueRecipients(
  deps: { ledger: SendLedger; queue: SendQueue },
  campaign: CampaignSendFields,
  recipients: { openids: readonly string[]; chunkNo: number; fresh: boolean },
  now: number,
): Promise<number> {
  const { openids, chunkNo, fresh } = recipients;
  const messages = openids.map((openid) =>
    recipientMessage(campaign, openid, recipientOutRequestNo(campaign.id, openid, chunkNo)),
  );
  // Slice by slice, each slice's messages queued once its records are written, while the next slice is written: the
  // request takes about the longer of the two, not their sum.
  const queued: Promise<void>[] = [];
  for (let from = 0; from < messages.length; from += PIPELINE_SLICE) {
    const slice = messages.slice(from, from + PIPELINE_SLICE);
    await deps.ledger.prepare(
      slice.map((m) => recipientRecord(m, now)),
      { fresh },
    );
    const enqueued = deps.queue.enqueue(slice);
    enqueued.catch(() => undefined); // awaited below; a failure is not an unhandled rejection meanwhile
    queued.push(enqueued);
  }
  await Promise.all(queued);
  return messages.length;
}
