import { certainlyNotIssued } from "../../domain/keyed-call.js";
import type { ListPage, NewSendRecord, SendLedger, SendRecord, StateChange } from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { cancelledSendRecord, newKeyedRecord, SEND_KIND } from "../record-rules.js";
import { compareUtf8 } from "./compare.js";
import { MemoryKeyedLedger } from "./memory-keyed-ledger.js";

/** In-memory `SendLedger`. */
export class MemorySendLedger
  extends MemoryKeyedLedger<SendRecord, NewSendRecord, { couponId: string }>
  implements SendLedger
{
  constructor() {
    super(SEND_KIND);
  }

  async listByCampaign(
    campaignId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<ListPage<SendRecord>> {
    // The cursor holds the last out_request_no returned, like the DynamoDB adapter's LastEvaluatedKey.
    const after =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, ["campaign", "after"], { campaign: campaignId }).after;
    const { items, more } = this.page(
      (r) => r.campaignId === campaignId && (after === undefined || compareUtf8(r.outRequestNo, after) > 0),
      (a, b) => compareUtf8(a.outRequestNo, b.outRequestNo),
      options.limit ?? 100,
    );
    const last = items.at(-1);
    if (!more || last === undefined) return { items };
    return { items, cursor: encodeCursor({ campaign: campaignId, after: last.outRequestNo }) };
  }

  async prepare(records: readonly NewSendRecord[], options: { fresh?: boolean } = {}): Promise<void> {
    for (const record of records) {
      const prepared = newKeyedRecord<SendRecord, NewSendRecord>(record);
      // Fresh: written without a condition, as the DynamoDB adapter's batches are.
      if (options.fresh) this.putIf(prepared, () => true);
      else this.putIfAbsent(prepared);
    }
  }

  async cancel(record: NewSendRecord, now: number): Promise<StateChange<SendRecord>> {
    // No record, or a PENDING one for which WeChat certainly issued nothing (never leased, or every call answered).
    const cancelled = cancelledSendRecord(record, now);
    return this.putIf(cancelled, (existing) => {
      if (existing === undefined) return true;
      if (!certainlyNotIssued(existing)) return false;
      cancelled.attempts = existing.attempts;
      return true;
    });
  }
}
