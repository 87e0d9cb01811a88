import { certainlyNotIssued } from "../keyed-call.js";
import type { SendLedger, SendMessage } from "../ports.js";
import type { BatchOutcomeCounter } from "./batch-outcome-counter.js";
import { recipientRecord } from "./campaign-recipients.js";
import { outcomeTally } from "./outcome-tally.js";

/**
 * Records one send of a cancelled campaign as final CANCELLED, never sent. Returns false when a call for the send
 * may have reached WeChat (its lease is held or lapsed, or its record is uncertain: `certainlyNotIssued`), and the
 * caller finishes it under its key instead (a send that started before the cancel ends SENT or FAILED, as WeChat
 * decided). A send whose calls were all answered with nothing done (a refusal held, a 429) is withdrawn too: no
 * coupon is issued after the cancel for it. Like every outcome, the cancellation is
 * counted before it is written: a crash in between, or a claim racing the write, can over-count (the recount corrects
 * it), never leave a recipient uncounted.
 */
export async function withdrawSend(
  deps: { ledger: SendLedger; clock: () => number },
  counter: BatchOutcomeCounter,
  message: SendMessage,
): Promise<boolean> {
  const { mchid, outRequestNo, campaignId } = message;
  if (campaignId === undefined) return false;
  const existing = await deps.ledger.get({ mchid, outRequestNo });
  // A record for which WeChat certainly issued nothing (never leased, or every call answered) is withdrawn like a
  // missing one.
  if (existing !== undefined && !certainlyNotIssued(existing)) {
    return existing.state === "CANCELLED";
  }
  return counter.track(async (count) => {
    await count(campaignId, outcomeTally("CANCELLED"));
    const change = await deps.ledger.cancel(recipientRecord(message, deps.clock()), deps.clock());
    // Claimed between the read and the put (a duplicate message): that copy finishes the send; this one is done.
    return change.record.state !== "PENDING";
  });
}
