import { NotFoundError } from "../../domain/errors.js";
import { UNKNOWN_ERROR_CODE } from "../../domain/keyed-call.js";
import type * as ports from "../../domain/ports.js";
import { type KeyedKind, newKeyedRecord } from "../record-rules.js";

const keyString = (key: ports.LedgerKey): string => `${key.mchid}#${key.outRequestNo}`;

/**
 * In-memory `ports.KeyedLedger` for every kind of keyed record: the reference implementation the contract suite is written
 * against. Each method runs synchronously between awaits, which makes it atomic like a conditional write. Records are
 * copied in and out.
 */
export class MemoryKeyedLedger<R extends ports.KeyedRecord, N extends ports.NewKeyedRecord, S>
  implements ports.KeyedLedger<R, N, S>
{
  readonly #items = new Map<string, R>();

  constructor(private readonly kind: KeyedKind<R, S>) {}

  async claim(input: N, options: { leaseMs?: number } = {}): Promise<ports.ClaimResult<R>> {
    const record = newKeyedRecord<R, N>(input, options.leaseMs);
    const existing = this.#items.get(keyString(record));
    if (existing !== undefined) return { created: false, record: structuredClone(existing) };
    this.#items.set(keyString(record), structuredClone(record));
    return { created: true, record };
  }

  async acquireLease(key: ports.LedgerKey, now: number, leaseMs: number): Promise<ports.LeaseResult<R>> {
    const item = this.#items.get(keyString(key));
    if (item === undefined) return { status: "missing" };
    if (item.state !== "PENDING") return { status: "final", record: structuredClone(item) };
    if (item.leaseUntil > now) return { status: "busy", record: structuredClone(item) };
    // A lapsed lease: its holder may have called WeChat and died before recording anything.
    if (item.leaseUntil !== 0) item.uncertain = true;
    item.leaseUntil = now + leaseMs;
    item.attempts += 1;
    item.updatedAt = now;
    return { status: "acquired", record: structuredClone(item) };
  }

  async succeed(key: ports.LedgerKey, success: S, now: number): Promise<ports.SuccessChange<R>> {
    const item = this.#mustExist(key);
    if (item.state === this.kind.succeeded) {
      if (this.kind.sameSuccess(item, success)) return { changed: false, record: structuredClone(item) };
      throw this.kind.mismatch();
    }
    // PENDING and FAILED may both succeed: a late success beats a recorded failure (the coupon or stock exists).
    const replaced = item.state === "FAILED" ? { replacedFailure: { code: item.errorCode ?? UNKNOWN_ERROR_CODE } } : {};
    Object.assign(item, this.kind.successFields(success), {
      state: this.kind.succeeded,
      leaseUntil: 0,
      updatedAt: now,
    });
    delete item.errorCode;
    delete item.errorMessage;
    return { changed: true, record: structuredClone(item), ...replaced };
  }

  async fail(key: ports.LedgerKey, error: ports.ErrorInfo, now: number): Promise<ports.StateChange<R>> {
    const item = this.#mustExist(key);
    // Once: a succeeded record stays succeeded, a FAILED one keeps its first code.
    if (item.state !== "PENDING") return { changed: false, record: structuredClone(item) };
    Object.assign(item, { state: "FAILED", errorCode: error.code, errorMessage: error.message, leaseUntil: 0 });
    item.updatedAt = now;
    return { changed: true, record: structuredClone(item) };
  }

  async release(
    key: ports.LedgerKey,
    leaseUntil: number,
    now: number,
    lastError?: ports.RetryError,
    options: { notCalled?: boolean } = {},
  ): Promise<boolean> {
    const item = this.#items.get(keyString(key));
    // Fenced on the caller's own lease: a caller whose lease expired must not free the next caller's lease.
    if (item === undefined || item.state !== "PENDING" || item.leaseUntil !== leaseUntil) return false;
    item.leaseUntil = 0;
    item.updatedAt = now;
    if (options.notCalled) item.attempts -= 1;
    if (lastError !== undefined) {
      item.errorCode = lastError.code;
      item.errorMessage = lastError.message;
    }
    if (lastError?.uncertain) item.uncertain = true;
    return true;
  }

  async get(key: ports.LedgerKey): Promise<R | undefined> {
    const item = this.#items.get(keyString(key));
    return item === undefined ? undefined : structuredClone(item);
  }

  /** Stores `record` as it is unless its key is used: the first writer wins, like `claim`. */
  protected putIfAbsent(record: R): ports.ClaimResult<R> {
    const existing = this.#items.get(keyString(record));
    if (existing !== undefined) return { created: false, record: structuredClone(existing) };
    this.#items.set(keyString(record), structuredClone(record));
    return { created: true, record: structuredClone(record) };
  }

  /** Stores `record` in place of what its key holds (or nothing) when `accept` says so, atomically. */
  protected putIf(record: R, accept: (existing: Readonly<R> | undefined) => boolean): ports.StateChange<R> {
    const existing = this.#items.get(keyString(record));
    if (!accept(existing)) return { changed: false, record: structuredClone(existing!) };
    this.#items.set(keyString(record), structuredClone(record));
    return { changed: true, record: structuredClone(record) };
  }

  /** Copies of the first `limit` records `keep` accepts in `order`; `more` when others follow. */
  protected page(
    keep: (r: Readonly<R>) => boolean,
    order: (a: Readonly<R>, b: Readonly<R>) => number,
    limit: number,
  ): { items: R[]; more: boolean } {
    // Filter and sort the stored records, copy only the page: a full scan stays linear in copies.
    const matching = [...this.#items.values()].filter(keep).sort(order);
    return { items: matching.slice(0, limit).map((r) => structuredClone(r)), more: matching.length > limit };
  }

  #mustExist(key: ports.LedgerKey): R {
    const item = this.#items.get(keyString(key));
    if (item === undefined) throw new NotFoundError("out_request_no", `no ${this.kind.noun} for this out_request_no`);
    return item;
  }
}
