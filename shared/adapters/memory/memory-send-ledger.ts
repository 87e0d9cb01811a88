import type { ListPage, NewSendRecord, SendLedger, SendRecord } from "../../domain/ports.js";
import { SEND_KIND } from "../record-rules.js";
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
    // The cursor is the last out_request_no returned, like the DynamoDB adapter's LastEvaluatedKey.
    const { cursor } = options;
    const { items, more } = this.page(
      (r) => r.campaignId === campaignId && (cursor === undefined || compareUtf8(r.outRequestNo, cursor) > 0),
      (a, b) => compareUtf8(a.outRequestNo, b.outRequestNo),
      options.limit ?? 100,
    );
    const last = items.at(-1);
    return more && last !== undefined ? { items, cursor: last.outRequestNo } : { items };
  }
}
