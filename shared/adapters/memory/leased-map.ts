import type { ErrorInfo, LeaseResult, LedgerKey } from "../../domain/ports.js";

/** Fields every leased ledger record has (send records and stock-request records). */
export interface LeasedFields extends LedgerKey {
  state: string;
  attempts: number;
  leaseUntil: number;
  errorCode?: string;
  errorMessage?: string;
  updatedAt: number;
}

export const ledgerKeyString = (key: LedgerKey): string => `${key.mchid}#${key.outRequestNo}`;

/**
 * The lease rules of the ledgers, over a Map. Every method runs synchronously between awaits, which is what makes
 * the in-memory fakes atomic, like a conditional write. Records are copied in and out.
 */
export class LeasedMap<R extends LeasedFields> {
  readonly #items = new Map<string, R>();

  get(key: LedgerKey): R | undefined {
    const item = this.#items.get(ledgerKeyString(key));
    return item === undefined ? undefined : structuredClone(item);
  }

  putIfAbsent(record: R): { created: boolean; record: R } {
    const k = ledgerKeyString(record);
    const existing = this.#items.get(k);
    if (existing !== undefined) return { created: false, record: structuredClone(existing) };
    this.#items.set(k, structuredClone(record));
    return { created: true, record: structuredClone(record) };
  }

  /** Applies `change` to the stored record (in place) and returns a copy; the caller has checked the condition. */
  update(key: LedgerKey, change: (r: R) => void): R {
    const item = this.#items.get(ledgerKeyString(key));
    if (item === undefined) throw new Error("LeasedMap.update on a missing record");
    change(item);
    return structuredClone(item);
  }

  /**
   * PENDING → FAILED with `error`, once (a succeeded record stays, a FAILED one keeps its first code); undefined when
   * there is no record.
   */
  fail(
    key: LedgerKey,
    error: ErrorInfo,
    now: number,
    also: (r: R) => void = () => {},
  ): { changed: boolean; record: R } | undefined {
    const existing = this.get(key);
    if (existing === undefined) return undefined;
    if (existing.state !== "PENDING") return { changed: false, record: existing };
    const record = this.update(key, (r) => {
      r.state = "FAILED";
      r.errorCode = error.code;
      r.errorMessage = error.message;
      r.leaseUntil = 0;
      r.updatedAt = now;
      also(r);
    });
    return { changed: true, record };
  }

  acquireLease(key: LedgerKey, now: number, leaseMs: number): LeaseResult<R> {
    const item = this.#items.get(ledgerKeyString(key));
    if (item === undefined) return { status: "missing" };
    if (item.state !== "PENDING") return { status: "final", record: structuredClone(item) };
    if (item.leaseUntil > now) return { status: "busy", record: structuredClone(item) };
    item.leaseUntil = now + leaseMs;
    item.attempts += 1;
    item.updatedAt = now;
    return { status: "acquired", record: structuredClone(item) };
  }

  release(key: LedgerKey, leaseUntil: number, now: number, lastError?: ErrorInfo): boolean {
    const item = this.#items.get(ledgerKeyString(key));
    if (item === undefined || item.state !== "PENDING" || item.leaseUntil !== leaseUntil) return false;
    item.leaseUntil = 0;
    item.updatedAt = now;
    if (lastError !== undefined) {
      item.errorCode = lastError.code;
      item.errorMessage = lastError.message;
    }
    return true;
  }

  /** Copies of the first `limit` records `keep` accepts in `order`; `more` when others follow. */
  page(
    keep: (r: Readonly<R>) => boolean,
    order: (a: Readonly<R>, b: Readonly<R>) => number,
    limit: number,
  ): { items: R[]; more: boolean } {
    // Filter and sort the stored records, copy only the page: a full scan stays linear in copies.
    const matching = [...this.#items.values()].filter(keep).sort(order);
    return { items: matching.slice(0, limit).map((r) => structuredClone(r)), more: matching.length > limit };
  }
}
