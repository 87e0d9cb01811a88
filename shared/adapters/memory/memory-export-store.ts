import type {
  ClaimResult,
  ErrorInfo,
  ExportCheckpoint,
  ExportClaim,
  ExportRecord,
  ExportStore,
  NewExport,
} from "../../domain/ports.js";
import { newExportRecord } from "../record-rules.js";

/** In-memory `ExportStore` (the reference for the DynamoDB adapter: test/contract/suites/export-store-contract.ts). */
export class MemoryExportStore implements ExportStore {
  readonly #exports = new Map<string, ExportRecord>();
  readonly #current = new Map<string, { exportId: string; createdAt: number }>();

  async startOrReuse(record: NewExport, now: number, freshMs: number): Promise<ClaimResult<ExportRecord>> {
    const key = `${record.campaignId}#${record.what}`;
    const pointer = this.#current.get(key);
    if (pointer !== undefined && pointer.createdAt > now - freshMs) {
      const current = this.#exports.get(pointer.exportId);
      if (current !== undefined && current.state !== "FAILED")
        return { created: false, record: structuredClone(current) };
    }
    const fresh = newExportRecord(record);
    this.#exports.set(fresh.exportId, fresh);
    this.#current.set(key, { exportId: fresh.exportId, createdAt: fresh.createdAt });
    return { created: true, record: structuredClone(fresh) };
  }

  async get(exportId: string): Promise<ExportRecord | undefined> {
    const record = this.#exports.get(exportId);
    return record === undefined ? undefined : structuredClone(record);
  }

  async claim(exportId: string, now: number, leaseMs: number): Promise<ExportClaim> {
    const record = this.#exports.get(exportId);
    if (record === undefined) return { status: "missing" };
    if (record.state === "COMPLETED" || record.state === "FAILED")
      return { status: "final", record: structuredClone(record) };
    if (record.leaseUntil > now) return { status: "busy", record: structuredClone(record) };
    Object.assign(record, {
      state: "RUNNING",
      leaseUntil: now + leaseMs,
      invocations: record.invocations + 1,
      updatedAt: now,
    });
    return { status: "acquired", record: structuredClone(record) };
  }

  async saveCheckpoint(exportId: string, leaseUntil: number, checkpoint: ExportCheckpoint, now: number) {
    return this.#fenced(exportId, leaseUntil, (r) =>
      Object.assign(r, { checkpoint: structuredClone(checkpoint), updatedAt: now }),
    );
  }

  async release(exportId: string, leaseUntil: number, now: number): Promise<boolean> {
    return this.#fenced(exportId, leaseUntil, (r) => Object.assign(r, { leaseUntil: 0, updatedAt: now }));
  }

  async complete(exportId: string, leaseUntil: number, result: { rows: number; bytes: number }, now: number) {
    return this.#fenced(exportId, leaseUntil, (r) =>
      Object.assign(r, { state: "COMPLETED", ...result, completedAt: now, leaseUntil: 0, updatedAt: now }),
    );
  }

  async fail(exportId: string, leaseUntil: number, error: ErrorInfo, now: number): Promise<boolean> {
    return this.#fenced(exportId, leaseUntil, (r) =>
      Object.assign(r, { state: "FAILED", error: { ...error }, leaseUntil: 0, updatedAt: now }),
    );
  }

  #fenced(exportId: string, leaseUntil: number, change: (r: ExportRecord) => void): boolean {
    const record = this.#exports.get(exportId);
    if (record === undefined || record.state !== "RUNNING" || record.leaseUntil !== leaseUntil) return false;
    change(record);
    return true;
  }
}
