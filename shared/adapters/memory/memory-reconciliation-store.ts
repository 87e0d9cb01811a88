import type {
  ErrorInfo,
  ListPage,
  PendingStock,
  ReconciliationCounts,
  ReconciliationFinding,
  ReconciliationPosition,
  ReconciliationRecord,
  ReconciliationStore,
  StateChange,
} from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { compareUtf8 } from "./compare.js";
import type { MemoryCouponStore } from "./memory-coupon-store.js";

/**
 * In-memory `ReconciliationStore` (same rules as the DynamoDB adapter). Pending stocks are those the coupon store has
 * recorded issued coupons of, until a scheduled run took them.
 */
export class MemoryReconciliationStore implements ReconciliationStore {
  readonly #runs = new Map<string, ReconciliationRecord>();
  readonly #findings = new Map<string, Map<string, ReconciliationFinding>>();
  readonly #stocks = new Map<string, PendingStock & { reconciliationId?: string }>();

  constructor(private readonly coupons: Pick<MemoryCouponStore, "issuedStocks">) {}

  async create(run: ReconciliationRecord): Promise<StateChange<ReconciliationRecord>> {
    const existing = this.#runs.get(run.id);
    if (existing) return { changed: false, record: structuredClone(existing) };
    this.#runs.set(run.id, structuredClone(run));
    return { changed: true, record: structuredClone(run) };
  }

  async get(id: string) {
    const run = this.#runs.get(id);
    return run === undefined ? undefined : structuredClone(run);
  }

  async listRunning(limit: number) {
    return [...this.#runs.values()]
      .filter((r) => r.status === "RUNNING")
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async lease(id: string, now: number, until: number) {
    const run = this.#runs.get(id);
    if (run === undefined || run.status !== "RUNNING" || (run.leaseUntil ?? 0) > now) return undefined;
    run.leaseUntil = until;
    run.updatedAt = now;
    return structuredClone(run);
  }

  async checkpoint(
    id: string,
    lease: number,
    from: ReconciliationPosition,
    to: ReconciliationPosition,
    counts: Partial<ReconciliationCounts>,
    now: number,
  ) {
    const run = this.#runs.get(id);
    if (run === undefined || run.leaseUntil !== lease || run.phase !== from.phase || run.offset !== from.offset)
      return false;
    run.phase = to.phase;
    run.offset = to.offset;
    if (to.cursor === undefined) delete run.cursor;
    else run.cursor = to.cursor;
    for (const [name, n] of Object.entries(counts)) run.counts[name as keyof ReconciliationCounts] += n ?? 0;
    run.updatedAt = now;
    return true;
  }

  async release(id: string, lease: number, now: number) {
    const run = this.#runs.get(id);
    if (run !== undefined && run.leaseUntil === lease) run.leaseUntil = now;
  }

  async finish(id: string, lease: number, status: "COMPLETED" | "FAILED", now: number, error?: ErrorInfo) {
    const run = this.#runs.get(id);
    if (run === undefined || run.leaseUntil !== lease || run.status !== "RUNNING") return false;
    run.status = status;
    run.completedAt = now;
    run.updatedAt = now;
    if (error) run.lastError = error;
    delete run.leaseUntil;
    return true;
  }

  async recordFailure(id: string, lease: number, error: ErrorInfo, now: number) {
    const run = this.#runs.get(id);
    if (run === undefined || run.leaseUntil !== lease || run.status !== "RUNNING") return undefined;
    run.failures += 1;
    run.lastError = error;
    run.leaseUntil = now;
    run.updatedAt = now;
    return structuredClone(run);
  }

  async putFindings(runId: string, findings: readonly ReconciliationFinding[]) {
    const stored = this.#findings.get(runId) ?? new Map<string, ReconciliationFinding>();
    for (const f of findings) stored.set(findingOrder(f), structuredClone(f));
    this.#findings.set(runId, stored);
  }

  async listFindings(runId: string, options: { limit: number; cursor?: string }) {
    const list = `FINDINGS#${runId}`;
    const after =
      options.cursor === undefined ? undefined : decodeCursor(options.cursor, ["list", "after"], { list }).after;
    const ordered = [...(this.#findings.get(runId) ?? new Map<string, ReconciliationFinding>())]
      .filter(([key]) => after === undefined || compareUtf8(key, after) > 0)
      .sort(([a], [b]) => compareUtf8(a, b));
    const page = ordered.slice(0, options.limit);
    const answer: ListPage<ReconciliationFinding> = { items: page.map(([, f]) => structuredClone(f)) };
    const last = page.at(-1);
    if (ordered.length > options.limit && last !== undefined) answer.cursor = encodeCursor({ list, after: last[0] });
    return answer;
  }

  async pendingStocks(limit: number) {
    for (const stockId of this.coupons.issuedStocks().keys()) {
      if (!this.#stocks.has(stockId)) this.#stocks.set(stockId, { stockId });
    }
    return [...this.#stocks.values()]
      .filter((s) => s.reconciliationId === undefined)
      .slice(0, limit)
      .map(({ reconciliationId: _run, ...s }) => ({ ...s }));
  }

  async updatePendingStock(stockId: string, patch: { availableEndTime?: number; nextCheckAt?: number }) {
    const stock = this.#stocks.get(stockId);
    if (stock) Object.assign(stock, patch);
  }

  async markStockReconciled(stockId: string, runId: string, _now: number) {
    const stock = this.#stocks.get(stockId);
    if (stock) stock.reconciliationId = runId;
  }
}

/** The DynamoDB adapter's gsi1 sort key of a finding: kind, coupon, flow, transaction, refund. */
const findingOrder = (f: ReconciliationFinding) =>
  `${f.kind}#${f.couponId}#${f.flow}#${f.transactionId}#${f.refundId ?? ""}`;
