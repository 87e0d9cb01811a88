import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type {
  ClaimResult,
  ErrorInfo,
  ExportCheckpoint,
  ExportClaim,
  ExportKind,
  ExportRecord,
  ExportState,
  ExportStore,
  NewExport,
} from "../../domain/ports.js";
import { EXPORT_ITEM_TTL_SECONDS, newExportRecord } from "../record-rules.js";
import { and, CONDITION, conditionalUpdate, getItem, putIfAbsent } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, str } from "./item.js";
import { KEY } from "./table-definition.js";

const NAMES = { "#state": "state", "#lease_until": "lease_until" };

/**
 * `ExportStore` on the table: `EXPORT#{export_id}` holds the export (state, lease, checkpoint, figures) and
 * `CAMPAIGN#{id}#EXPORT#{what}` points at the campaign's current export of that kind. Both expire through TTL a day
 * after the object's lifecycle rule deletes the file.
 */
export class DynamoDbExportStore implements ExportStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async startOrReuse(record: NewExport, now: number, freshMs: number): Promise<ClaimResult<ExportRecord>> {
    const pointerKey = KEY.campaignExport(record.campaignId, record.what);
    const pointer = await getItem(this.#doc, this.#table, pointerKey);
    if (pointer !== undefined && num(pointer, "created_at") > now - freshMs) {
      const current = await this.get(str(pointer, "export_id"));
      if (current !== undefined && current.state !== "FAILED") return { created: false, record: current };
    }
    const fresh = newExportRecord(record);
    const expiresAt = Math.floor(record.createdAt / 1000) + EXPORT_ITEM_TTL_SECONDS;
    await putIfAbsent(this.#doc, this.#table, { ...toItem(fresh), expires_at: expiresAt });
    // Optimistic: the pointer moves only from what was read, so two concurrent requests agree on one export.
    const moved = await conditionalUpdate(this.#doc, this.#table, pointerKey, {
      UpdateExpression: "SET #export_id = :id, created_at = :created, expires_at = :expires",
      ConditionExpression: pointer === undefined ? CONDITION.absent : "#export_id = :seen",
      ExpressionAttributeNames: { "#export_id": "export_id" },
      ExpressionAttributeValues: {
        ":id": fresh.exportId,
        ":created": fresh.createdAt,
        ":expires": expiresAt,
        ...(pointer === undefined ? {} : { ":seen": str(pointer, "export_id") }),
      },
    });
    if (moved.changed) return { created: true, record: fresh };
    // Another request moved it first: its export is the answer (ours stays PENDING, unqueued, until TTL removes it).
    const winner = moved.existing === undefined ? undefined : await this.get(str(moved.existing, "export_id"));
    if (winner === undefined) throw new Error(`export pointer ${pointerKey} names a missing export`);
    return { created: false, record: winner };
  }

  async get(exportId: string): Promise<ExportRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.export(exportId));
    return item === undefined ? undefined : fromItem(item);
  }

  async claim(exportId: string, now: number, leaseMs: number): Promise<ExportClaim> {
    const result = await conditionalUpdate(this.#doc, this.#table, KEY.export(exportId), {
      UpdateExpression: "SET #state = :running, #lease_until = :lease, updated_at = :now ADD invocations :one",
      ConditionExpression: and(CONDITION.exists, "#state IN (:pending, :running)", CONDITION.leaseExpired),
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: {
        ":running": "RUNNING",
        ":pending": "PENDING",
        ":lease": now + leaseMs,
        ":now": now,
        ":one": 1,
      },
    });
    if (result.changed) return { status: "acquired", record: fromItem(result.item) };
    if (result.existing === undefined) return { status: "missing" };
    const record = fromItem(result.existing);
    return { status: record.state === "COMPLETED" || record.state === "FAILED" ? "final" : "busy", record };
  }

  async saveCheckpoint(exportId: string, leaseUntil: number, checkpoint: ExportCheckpoint, now: number) {
    return this.#fenced(exportId, leaseUntil, "SET checkpoint = :checkpoint, updated_at = :now", {
      ":checkpoint": checkpointItem(checkpoint),
      ":now": now,
    });
  }

  release(exportId: string, leaseUntil: number, now: number): Promise<boolean> {
    return this.#fenced(exportId, leaseUntil, "SET #lease_until = :zero, updated_at = :now", {
      ":zero": 0,
      ":now": now,
    });
  }

  complete(exportId: string, leaseUntil: number, result: { rows: number; bytes: number }, now: number) {
    return this.#fenced(
      exportId,
      leaseUntil,
      "SET #state = :completed, #rows = :rows, #bytes = :bytes, completed_at = :now, #lease_until = :zero, updated_at = :now",
      { ":completed": "COMPLETED", ":rows": result.rows, ":bytes": result.bytes, ":now": now, ":zero": 0 },
      { "#rows": "rows", "#bytes": "bytes" },
    );
  }

  fail(exportId: string, leaseUntil: number, error: ErrorInfo, now: number): Promise<boolean> {
    return this.#fenced(
      exportId,
      leaseUntil,
      "SET #state = :failed, error_code = :code, error_message = :message, #lease_until = :zero, updated_at = :now",
      { ":failed": "FAILED", ":code": error.code, ":message": error.message, ":now": now, ":zero": 0 },
    );
  }

  async #fenced(
    exportId: string,
    leaseUntil: number,
    update: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<boolean> {
    const result = await conditionalUpdate(this.#doc, this.#table, KEY.export(exportId), {
      UpdateExpression: update,
      ConditionExpression: and(CONDITION.exists, "#state = :was_running", CONDITION.leaseHeldBy),
      ExpressionAttributeNames: { ...NAMES, ...names },
      ExpressionAttributeValues: { ...values, ":was_running": "RUNNING", ":lease": leaseUntil },
    });
    return result.changed;
  }
}

function checkpointItem(c: ExportCheckpoint): Item {
  return {
    upload_id: c.uploadId,
    ...(c.cursor === undefined ? {} : { cursor: c.cursor }),
    parts: c.parts.map((p) => ({ n: p.partNumber, etag: p.etag })),
    rows: c.rows,
    bytes: c.bytes,
    ...(c.uploaded ? { uploaded: true } : {}),
  };
}

function toItem(r: ExportRecord): Item {
  return {
    pk: KEY.export(r.exportId),
    export_id: r.exportId,
    campaign_id: r.campaignId,
    what: r.what,
    object_key: r.objectKey,
    stock_id: r.stockId,
    ...(r.availableEndTime === undefined ? {} : { available_end_time: r.availableEndTime }),
    state: r.state,
    invocations: r.invocations,
    lease_until: r.leaseUntil,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function fromItem(item: Item): ExportRecord {
  const c = item.checkpoint as Item | undefined;
  return {
    exportId: str(item, "export_id"),
    campaignId: str(item, "campaign_id"),
    what: str(item, "what") as ExportKind,
    objectKey: str(item, "object_key"),
    stockId: str(item, "stock_id"),
    ...(typeof item.available_end_time === "number" ? { availableEndTime: item.available_end_time } : {}),
    state: str(item, "state") as ExportState,
    invocations: num(item, "invocations"),
    leaseUntil: num(item, "lease_until"),
    ...(c === undefined
      ? {}
      : {
          checkpoint: {
            uploadId: str(c, "upload_id"),
            ...(typeof c.cursor === "string" ? { cursor: c.cursor } : {}),
            parts: ((c.parts as Item[] | undefined) ?? []).map((p) => ({
              partNumber: num(p, "n"),
              etag: str(p, "etag"),
            })),
            rows: num(c, "rows"),
            bytes: num(c, "bytes"),
            ...(c.uploaded === true ? { uploaded: true } : {}),
          },
        }),
    ...(item.rows === undefined ? {} : { rows: num(item, "rows") }),
    ...(item.bytes === undefined ? {} : { bytes: num(item, "bytes") }),
    ...(item.completed_at === undefined ? {} : { completedAt: num(item, "completed_at") }),
    ...(item.error_code === undefined
      ? {}
      : { error: { code: str(item, "error_code"), message: str(item, "error_message") } }),
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
  };
}
