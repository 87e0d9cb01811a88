import { ConflictError, NotFoundError } from "../../domain/errors.js";
import type {
  ClaimResult,
  ErrorInfo,
  FinalOptions,
  LeaseResult,
  ListPage,
  NewSendRecord,
  SendKey,
  SendLedger,
  SendRecord,
  StateChange,
} from "../../domain/ports.js";
import { newSendRecord } from "../record-rules.js";
import { compareUtf8 } from "./compare.js";
import { LeasedMap } from "./leased-map.js";

/** In-memory `SendLedger`: the reference implementation the contract suite is written against. */
export class MemorySendLedger implements SendLedger {
  readonly #map = new LeasedMap<SendRecord>();

  async claim(input: NewSendRecord, options: { leaseMs?: number } = {}): Promise<ClaimResult<SendRecord>> {
    return this.#map.putIfAbsent(newSendRecord(input, options.leaseMs));
  }

  async acquireLease(key: SendKey, now: number, leaseMs: number): Promise<LeaseResult<SendRecord>> {
    return this.#map.acquireLease(key, now, leaseMs);
  }

  async markSent(
    key: SendKey,
    couponId: string,
    now: number,
    options: FinalOptions = {},
  ): Promise<StateChange<SendRecord>> {
    const existing = this.#map.get(key);
    if (existing === undefined) throw new NotFoundError("out_request_no", "no send record for this out_request_no");
    if (existing.state === "SENT") {
      if (existing.couponId === couponId) return { changed: false, record: existing };
      throw new ConflictError("COUPON_ID_MISMATCH", "coupon_id", "the send is already recorded with another coupon_id");
    }
    const record = this.#map.update(key, (r) => {
      r.state = "SENT";
      r.couponId = couponId;
      if (options.counted) r.counted = true;
      r.leaseUntil = 0;
      r.updatedAt = now;
      delete r.errorCode;
      delete r.errorMessage;
    });
    return { changed: true, record };
  }

  async markFailed(
    key: SendKey,
    error: ErrorInfo,
    now: number,
    options: FinalOptions = {},
  ): Promise<StateChange<SendRecord>> {
    const change = this.#map.fail(key, error, now, (r) => {
      if (options.counted) r.counted = true;
    });
    if (change === undefined) throw new NotFoundError("out_request_no", "no send record for this out_request_no");
    return change;
  }

  async release(key: SendKey, leaseUntil: number, now: number, lastError?: ErrorInfo): Promise<boolean> {
    return this.#map.release(key, leaseUntil, now, lastError);
  }

  async markCounted(key: SendKey, now: number): Promise<void> {
    if (this.#map.get(key) === undefined)
      throw new NotFoundError("out_request_no", "no send record for this out_request_no");
    this.#map.update(key, (r) => {
      r.counted = true;
      r.updatedAt = now;
    });
  }

  async get(key: SendKey): Promise<SendRecord | undefined> {
    return this.#map.get(key);
  }

  async listByCampaign(
    campaignId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<ListPage<SendRecord>> {
    // The cursor is the last out_request_no returned, like the DynamoDB adapter's LastEvaluatedKey.
    const { cursor } = options;
    const { items, more } = this.#map.page(
      (r) => r.campaignId === campaignId && (cursor === undefined || compareUtf8(r.outRequestNo, cursor) > 0),
      (a, b) => compareUtf8(a.outRequestNo, b.outRequestNo),
      options.limit ?? 100,
    );
    const last = items.at(-1);
    return more && last !== undefined ? { items, cursor: last.outRequestNo } : { items };
  }
}
