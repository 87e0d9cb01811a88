import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { ValidationError } from "../../domain/errors.js";
import type {
  ErrorInfo,
  FindingKind,
  FlowKind,
  ListPage,
  PendingStock,
  ReconciliationCounts,
  ReconciliationFinding,
  ReconciliationPhase,
  ReconciliationPosition,
  ReconciliationRecord,
  ReconciliationStore,
  StateChange,
} from "../../domain/ports.js";
import { FINDING_KINDS } from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { conditionalUpdate, getItem, isConditionalCheckFailed } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, str } from "./item.js";
import { GSI1, KEY } from "./table-definition.js";

const COUNT_NAMES: readonly (keyof ReconciliationCounts)[] = ["use_rows", "refund_rows", ...FINDING_KINDS, "expired"];

/**
 * `ReconciliationStore` on the single table (table-definition.ts): runs `RECON#{id}` (gsi1 `RECON#RUNNING` while
 * RUNNING), their findings `RECON#{id}#F#…` (gsi1 `RECON#{id}#FINDINGS`) and the pending stocks `STOCK#{stock_id}`
 * (gsi1 `RECONCILE#PENDING`, written by the coupon store when it records a stock's first issued coupon).
 */
export class DynamoDbReconciliationStore implements ReconciliationStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async create(run: ReconciliationRecord): Promise<StateChange<ReconciliationRecord>> {
    const item = {
      pk: KEY.reconciliation(run.id),
      type: "RECONCILIATION",
      id: run.id,
      stock_id: run.stockId,
      trigger: run.trigger,
      status: run.status,
      phase: run.phase,
      offset: run.offset,
      ...run.counts,
      available_at: run.availableAt,
      available_end_time: run.availableEndTime,
      failures: run.failures,
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      gsi1pk: KEY.reconciliationsRunning(),
      gsi1sk: `${new Date(run.createdAt).toISOString()}#${run.id}`,
    };
    try {
      await this.#doc.send(
        new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: "attribute_not_exists(pk)" }),
      );
      return { changed: true, record: run };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { changed: false, record: (await this.get(run.id))! };
    }
  }

  async get(id: string): Promise<ReconciliationRecord | undefined> {
    const item = await getItem(this.#doc, this.#table, KEY.reconciliation(id));
    return item === undefined ? undefined : reconciliationFromItem(item);
  }

  async listRunning(limit: number): Promise<ReconciliationRecord[]> {
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": KEY.reconciliationsRunning() },
        Limit: limit,
      }),
    );
    return Items.map(reconciliationFromItem).filter((run) => run.status === "RUNNING");
  }

  async lease(id: string, now: number, until: number): Promise<ReconciliationRecord | undefined> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.reconciliation(id), {
      UpdateExpression: "SET lease_until = :until, updated_at = :now",
      ConditionExpression: "#status = :running AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: { ":until": until, ":now": now, ":running": "RUNNING" },
    });
    return update.changed ? reconciliationFromItem(update.item) : undefined;
  }

  async checkpoint(
    id: string,
    lease: number,
    from: ReconciliationPosition,
    to: ReconciliationPosition,
    counts: Partial<ReconciliationCounts>,
    now: number,
  ): Promise<boolean> {
    const added = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0);
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.reconciliation(id), {
      UpdateExpression:
        `SET #phase = :to_phase, #offset = :to_offset, updated_at = :now` +
        (to.cursor === undefined ? "" : ", #cursor = :to_cursor") +
        (added.length ? ` ADD ${added.map(([name]) => `${name} :${name}`).join(", ")}` : "") +
        (to.cursor === undefined ? " REMOVE #cursor" : ""),
      ConditionExpression: "lease_until = :lease AND #phase = :from_phase AND #offset = :from_offset",
      ExpressionAttributeNames: { "#offset": "offset", "#phase": "phase", "#cursor": "cursor" },
      ExpressionAttributeValues: {
        ":to_phase": to.phase,
        ":to_offset": to.offset,
        ...(to.cursor === undefined ? {} : { ":to_cursor": to.cursor }),
        ":from_phase": from.phase,
        ":from_offset": from.offset,
        ":lease": lease,
        ":now": now,
        ...Object.fromEntries(added.map(([name, n]) => [`:${name}`, n])),
      },
    });
    return update.changed;
  }

  async release(id: string, lease: number, now: number): Promise<void> {
    await conditionalUpdate(this.#doc, this.#table, KEY.reconciliation(id), {
      UpdateExpression: "SET #lease = :now",
      ConditionExpression: "#lease = :lease",
      ExpressionAttributeNames: { "#lease": "lease_until" },
      ExpressionAttributeValues: { ":now": now, ":lease": lease },
    });
  }

  async finish(
    id: string,
    lease: number,
    status: "COMPLETED" | "FAILED",
    now: number,
    error?: ErrorInfo,
  ): Promise<boolean> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.reconciliation(id), {
      // Leaving gsi1 ends the run's place in the running list; `status` becoming COMPLETED is the transition events
      // derive `reconciliation.completed` from (shared/domain/events/service-events.ts).
      UpdateExpression:
        "SET #status = :status, completed_at = :now, updated_at = :now" +
        (error ? ", last_error = :error" : "") +
        " REMOVE lease_until, gsi1pk, gsi1sk",
      ConditionExpression: "lease_until = :lease AND #status = :running",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: {
        ":status": status,
        ":now": now,
        ":lease": lease,
        ":running": "RUNNING",
        ...(error ? { ":error": error } : {}),
      },
    });
    return update.changed;
  }

  async recordFailure(
    id: string,
    lease: number,
    error: ErrorInfo,
    now: number,
  ): Promise<ReconciliationRecord | undefined> {
    const update = await conditionalUpdate(this.#doc, this.#table, KEY.reconciliation(id), {
      UpdateExpression: "SET last_error = :error, updated_at = :now, lease_until = :now ADD failures :one",
      ConditionExpression: "lease_until = :lease AND #status = :running",
      ExpressionAttributeNames: { "#status": "status" },
      // The lease becomes `now`: released for the next invocation, and still a fence for `finish(id, now, …)`.
      ExpressionAttributeValues: {
        ":error": error,
        ":now": now,
        ":lease": lease,
        ":one": 1,
        ":running": "RUNNING",
      },
    });
    return update.changed ? reconciliationFromItem(update.item) : undefined;
  }

  async putFindings(runId: string, findings: readonly ReconciliationFinding[]): Promise<void> {
    await Promise.all(
      findings.map((f) =>
        this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              pk: `${findingPrefix(runId)}${f.flow}#${f.couponId}#${f.transactionId}#${f.refundId ?? ""}`,
              type: "RECONCILIATION_FINDING",
              gsi1pk: KEY.reconciliationFindings(runId),
              gsi1sk: `${f.kind}#${f.couponId}#${f.flow}#${f.transactionId}#${f.refundId ?? ""}`,
              kind: f.kind,
              flow: f.flow,
              coupon_id: f.couponId,
              stock_id: f.stockId,
              transaction_id: f.transactionId,
              at: f.at,
              amount: f.amount,
              ...(f.refundId === undefined ? {} : { refund_id: f.refundId }),
              ...(f.campaignId === undefined ? {} : { campaign_id: f.campaignId }),
            },
          }),
        ),
      ),
    );
  }

  async listFindings(
    runId: string,
    options: { limit: number; cursor?: string },
  ): Promise<ListPage<ReconciliationFinding>> {
    const gsi1pk = KEY.reconciliationFindings(runId);
    const start = options.cursor === undefined ? undefined : findingsStartKey(options.cursor, runId);
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": gsi1pk },
        Limit: options.limit + 1,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = Items.slice(0, options.limit);
    const findings = items.map(findingFromItem);
    const last = items.at(-1);
    if (Items.length <= options.limit || last === undefined) return { items: findings };
    return {
      items: findings,
      cursor: encodeCursor({ pk: str(last, "pk"), gsi1pk, gsi1sk: str(last, "gsi1sk") }),
    };
  }

  async pendingStocks(limit: number): Promise<PendingStock[]> {
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": KEY.reconcilePending() },
        Limit: limit,
      }),
    );
    return Items.map((item) => ({
      stockId: str(item, "stock_id"),
      ...(typeof item.available_end_time === "number" ? { availableEndTime: item.available_end_time } : {}),
      ...(typeof item.next_check_at === "number" ? { nextCheckAt: item.next_check_at } : {}),
    }));
  }

  async updatePendingStock(stockId: string, patch: { availableEndTime?: number; nextCheckAt?: number }) {
    const sets = [
      ...(patch.availableEndTime === undefined ? [] : ["available_end_time = :end"]),
      ...(patch.nextCheckAt === undefined ? [] : ["next_check_at = :next"]),
    ];
    if (sets.length === 0) return;
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: KEY.reconcileStock(stockId) },
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: {
          ...(patch.availableEndTime === undefined ? {} : { ":end": patch.availableEndTime }),
          ...(patch.nextCheckAt === undefined ? {} : { ":next": patch.nextCheckAt }),
        },
      }),
    );
  }

  async markStockReconciled(stockId: string, runId: string, now: number): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: KEY.reconcileStock(stockId) },
        UpdateExpression: "SET reconciliation_id = :run, reconciled_at = :now REMOVE gsi1pk, gsi1sk",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":run": runId, ":now": now },
      }),
    );
  }
}

export function reconciliationFromItem(item: Item): ReconciliationRecord {
  const error = item.last_error as { code?: unknown; message?: unknown } | undefined;
  return {
    id: str(item, "id"),
    stockId: str(item, "stock_id"),
    trigger: str(item, "trigger") as ReconciliationRecord["trigger"],
    status: str(item, "status") as ReconciliationRecord["status"],
    phase: str(item, "phase") as ReconciliationPhase,
    offset: num(item, "offset"),
    ...(typeof item.cursor === "string" ? { cursor: item.cursor } : {}),
    counts: Object.fromEntries(COUNT_NAMES.map((name) => [name, num(item, name)])) as ReconciliationCounts,
    availableAt: num(item, "available_at"),
    availableEndTime: num(item, "available_end_time"),
    failures: num(item, "failures"),
    ...(error && typeof error.code === "string"
      ? { lastError: { code: error.code, message: String(error.message ?? "") } }
      : {}),
    ...(typeof item.lease_until === "number" ? { leaseUntil: item.lease_until } : {}),
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
    ...(typeof item.completed_at === "number" ? { completedAt: item.completed_at } : {}),
  };
}

function findingFromItem(item: Item): ReconciliationFinding {
  return {
    kind: str(item, "kind") as FindingKind,
    flow: str(item, "flow") as FlowKind,
    couponId: str(item, "coupon_id"),
    stockId: str(item, "stock_id"),
    transactionId: str(item, "transaction_id"),
    at: str(item, "at"),
    amount: num(item, "amount"),
    ...(typeof item.refund_id === "string" ? { refundId: item.refund_id } : {}),
    ...(typeof item.campaign_id === "string" ? { campaignId: item.campaign_id } : {}),
  };
}

/** The start of a run's finding keys: `RECON#{id}#F#{flow}#{coupon}#{transaction}#{refund}`. */
const findingPrefix = (runId: string) => `${KEY.reconciliation(runId)}#F#`;

/**
 * The index position a cursor of this run's findings holds: a finding item's keys (its pk and gsi1sk name the same
 * finding), in this list; keys it never returned are a ValidationError naming the cursor, as for every other list.
 */
function findingsStartKey(cursor: string, runId: string): Record<string, string> {
  const position = decodeCursor(cursor, ["pk", "gsi1pk", "gsi1sk"], { gsi1pk: KEY.reconciliationFindings(runId) });
  const prefix = findingPrefix(runId);
  const [flow, couponId, ...rest] = position.pk.slice(prefix.length).split("#");
  const [kind, sortCoupon, sortFlow, ...sortRest] = position.gsi1sk.split("#");
  const same =
    position.pk.startsWith(prefix) &&
    (FINDING_KINDS as readonly string[]).includes(kind ?? "") &&
    sortCoupon === couponId &&
    sortFlow === flow &&
    sortRest.join("#") === rest.join("#");
  if (!same) throw new ValidationError("cursor", "is not a cursor this list returned");
  return position;
}
