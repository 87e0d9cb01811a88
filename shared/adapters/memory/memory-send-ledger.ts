import type { ListPage, NewSendRecord, SendLedger, SendRecord, StateChange } from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { cancelledSendRecord, SEND_KIND } from "../record-rules.js";
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

  async cancel(record: NewSendRecord, now: number): Promise<StateChange<SendRecord>> {
    const put = this.putIfAbsent(cancelledSendRecord(record, now));
    return { changed: put.created, record: put.record };
  }
}
