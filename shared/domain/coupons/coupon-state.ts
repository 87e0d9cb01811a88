import type {
  CouponExpiry,
  CouponHistoryEntry,
  CouponIssue,
  CouponRecord,
  CouponRefund,
  CouponState,
  CouponUse,
} from "../ports.js";

/**
 * A coupon's lifecycle, in one record per coupon_id (shared/domain/ports.ts `CouponStore`):
 *
 *   (send recorded) → SENT → USED (COUPON.USE, or a use-flow row) → REFUNDED (the refund flow) → USED again …
 *                          └→ EXPIRED (a reconciliation run's expiry phase) → USED (a use reported later)
 *
 * A use may arrive before the send is recorded (a crash between WeChat's answer and our write, or a coupon this
 * service never issued): the record is then created USED with `issuedByService: false`, and a later send completes it.
 * A SENT coupon reads EXPIRED the moment its stock's `available_end_time` has passed (`effectiveState`); the expiry is
 * recorded (and `coupon.expired` published) later, by the stock's reconciliation run once WeChat's flow files have been
 * compared, so a use that only the use-flow file reports is recorded first (docs/coupon-lifecycle.md#expiry).
 */

/**
 * The state a reader sees: SENT turns EXPIRED after the stock's window (`availableEndTime`, epoch ms) whether or not
 * the expiry was recorded yet; any other state is as stored.
 */
export function effectiveState(
  record: Pick<CouponRecord, "state">,
  availableEndTime: number | undefined,
  now: number,
): CouponState {
  if (record.state === "SENT" && availableEndTime !== undefined && now > availableEndTime) return "EXPIRED";
  return record.state;
}

/**
 * What makes a use (or refund) "the same" again: WeChat's transaction id, else the notification that reported it,
 * else its time. Kept in the history entry, so a store tells a repeat from its stored history.
 */
function entryKey(entry: Pick<CouponHistoryEntry, "transactionId" | "notificationId" | "at">): string {
  return entry.transactionId ?? entry.notificationId ?? `at:${entry.at}`;
}

/**
 * History as shown: the send first (a coupon is issued before anything else can happen to it, even when a use was
 * recorded before the send was), then the rest by time, then as recorded. Not by time alone: WeChat's consume_time
 * has whole seconds while the send's time is ours in milliseconds, so a use within the send's second would sort first.
 */
export function sortHistory(history: CouponHistoryEntry[]): CouponHistoryEntry[] {
  const rank = (e: CouponHistoryEntry) => (e.state === "SENT" ? 0 : 1);
  return history
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => rank(a.entry) - rank(b.entry) || a.entry.at - b.entry.at || a.index - b.index)
    .map(({ entry }) => entry);
}

export const issueEntry = (issue: CouponIssue): CouponHistoryEntry => ({
  state: "SENT",
  at: issue.sentAt,
  source: "send",
  outRequestNo: issue.outRequestNo,
});

export function useEntry(use: CouponUse): CouponHistoryEntry {
  return {
    state: "USED",
    at: use.usedAt,
    source: use.source,
    amount: use.amount,
    ...(use.transactionId === undefined ? {} : { transactionId: use.transactionId }),
    ...(use.notificationId === undefined ? {} : { notificationId: use.notificationId }),
    ...(use.reconciliationId === undefined ? {} : { reconciliationId: use.reconciliationId }),
  };
}

export function refundEntry(refund: CouponRefund): CouponHistoryEntry {
  return {
    state: "REFUNDED",
    at: refund.refundedAt,
    source: refund.source,
    ...(refund.amount === undefined ? {} : { amount: refund.amount }),
    ...(refund.transactionId === undefined ? {} : { transactionId: refund.transactionId }),
    ...(refund.reconciliationId === undefined ? {} : { reconciliationId: refund.reconciliationId }),
  };
}

export function expiryEntry(expiry: CouponExpiry): CouponHistoryEntry {
  return {
    state: "EXPIRED",
    at: expiry.expiredAt,
    source: expiry.source,
    ...(expiry.reconciliationId === undefined ? {} : { reconciliationId: expiry.reconciliationId }),
  };
}

/** Whether the history already holds an entry of `state` with this entry's key (a repeated use or refund). */
export function hasEntry(history: CouponHistoryEntry[], entry: CouponHistoryEntry): boolean {
  const key = entryKey(entry);
  return history.some((e) => e.state === entry.state && entryKey(e) === key);
}

/** The amount of a coupon's first use (the first USED entry recorded: the one that set `usedAt`). */
export function firstUseAmount(record: Pick<CouponRecord, "history">): number {
  return record.history.find((e) => e.state === "USED")?.amount ?? 0;
}

/** Whether a coupon's first use may be counted in its campaign's totals: used, issued by a campaign send. */
export function countable(record: CouponRecord): boolean {
  return record.usedAt !== undefined && record.campaignId !== undefined && record.sentAt !== undefined;
}

/** The day of an RFC 3339 time in its own offset (`2026-12-06T09:30:00+08:00` → `2026-12-06`): China's date for WeChat. */
export function dayOf(rfc3339: string): string {
  return rfc3339.slice(0, 10);
}
