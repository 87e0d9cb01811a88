import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { NotFoundError } from "../../domain/errors.js";
import { UNKNOWN_ERROR_CODE } from "../../domain/keyed-call.js";
import type {
  ClaimResult,
  ErrorInfo,
  KeyedLedger,
  KeyedRecord,
  LeaseResult,
  LedgerKey,
  NewKeyedRecord,
  RetryError,
  StateChange,
  SuccessChange,
} from "../../domain/ports.js";
import { type KeyedKind, newKeyedRecord } from "../record-rules.js";
import { and, CONDITION, conditionalUpdate, getItem, isConditionalCheckFailed, putIfAbsent } from "./conditional.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, optionalStrings, str } from "./item.js";

/** How one kind of keyed record sits in the table, beside the attributes every kind shares (`baseItem`). */
export interface KeyedItemCodec<R extends KeyedRecord, S> {
  pk(key: LedgerKey): string;
  toItem(record: R): Item;
  fromItem(item: Item): R;
  /** The attributes `succeed` writes besides the state. */
  successAttributes(success: S): Item;
}

/**
 * `KeyedLedger` on the single table, for every kind of keyed record (sends, stock requests). Each operation is one
 * conditional write; a refused write reads the item back (see `conditional.ts`) and reports it as data.
 */
export class DynamoDbKeyedLedger<R extends KeyedRecord, N extends NewKeyedRecord, S> implements KeyedLedger<R, N, S> {
  protected readonly doc: DynamoDBDocumentClient;
  protected readonly table: string;

  constructor(
    options: DynamoDbAdapterOptions,
    private readonly kind: KeyedKind<R, S>,
    protected readonly codec: KeyedItemCodec<R, S>,
  ) {
    this.doc = options.doc;
    this.table = options.tableName;
  }

  async claim(input: N, options: { leaseMs?: number } = {}): Promise<ClaimResult<R>> {
    const record = newKeyedRecord<R, N>(input, options.leaseMs);
    // The uniqueness of (mchid, out_request_no): the first request wins, every other one replays it.
    const put = await putIfAbsent(this.doc, this.table, this.codec.toItem(record));
    return put.created ? { created: true, record } : { created: false, record: this.codec.fromItem(put.existing) };
  }

  async acquireLease(key: LedgerKey, now: number, leaseMs: number): Promise<LeaseResult<R>> {
    // Only a PENDING record whose lease is free or has lapsed can be taken: a live lease means a WeChat call is in
    // flight. A lapsed one (not 0, in the past: its holder neither released it nor recorded an outcome, e.g. its
    // process died during the call) may have reached WeChat: taken fenced on its exact value, and the record marked
    // uncertain in the same write.
    const take = (lease: number) => {
      const lapsed = lease !== 0;
      return conditionalUpdate(this.doc, this.table, this.codec.pk(key), {
        UpdateExpression: `SET #lease_until = :until, #updated_at = :now${lapsed ? ", #uncertain = :true" : ""} ADD #attempts :one`,
        ConditionExpression: and(CONDITION.exists, CONDITION.pending, "#lease_until = :lease"),
        ExpressionAttributeNames: {
          "#state": "state",
          "#lease_until": "lease_until",
          "#updated_at": "updated_at",
          "#attempts": "attempts",
          ...(lapsed ? { "#uncertain": "uncertain" } : {}),
        },
        ExpressionAttributeValues: {
          ":pending": "PENDING",
          ":now": now,
          ":until": now + leaseMs,
          ":one": 1,
          ":lease": lease,
          ...(lapsed ? { ":true": true } : {}),
        },
      });
    };
    let update = await take(0);
    if (!update.changed && update.existing !== undefined) {
      const seen = this.codec.fromItem(update.existing);
      if (seen.state === "PENDING" && seen.leaseUntil !== 0 && seen.leaseUntil <= now)
        update = await take(seen.leaseUntil);
    }
    if (update.changed) return { status: "acquired", record: this.codec.fromItem(update.item) };
    if (update.existing === undefined) return { status: "missing" };
    const record = this.codec.fromItem(update.existing);
    if (record.state !== "PENDING") return { status: "final", record };
    // The re-read may show a lease that expired since the write failed; still busy (the caller retries later).
    return { status: "busy", record };
  }

  async succeed(key: LedgerKey, success: S, now: number): Promise<SuccessChange<R>> {
    const { names, values, sets } = fieldUpdates(this.codec.successAttributes(success));
    const succeedIf = (condition: string, conditionValues: Record<string, unknown>) =>
      conditionalUpdate(this.doc, this.table, this.codec.pk(key), {
        UpdateExpression: `SET #state = :succeeded, ${sets}, #lease_until = :zero, #updated_at = :now REMOVE #error_code, #error_message`,
        ConditionExpression: and(CONDITION.exists, condition),
        ExpressionAttributeNames: {
          "#state": "state",
          "#lease_until": "lease_until",
          "#updated_at": "updated_at",
          "#error_code": "error_code",
          "#error_message": "error_message",
          ...names,
        },
        ExpressionAttributeValues: {
          ":succeeded": this.kind.succeeded,
          ":zero": 0,
          ":now": now,
          ...values,
          ...conditionValues,
        },
      });
    const update = await succeedIf(CONDITION.pending, { ":pending": "PENDING" });
    if (update.changed) return { changed: true, record: this.codec.fromItem(update.item) };
    let record = this.codec.fromItem(this.mustExist(update.existing));
    // PENDING and FAILED may both succeed: a late success beats a recorded failure (the coupon or stock exists). The
    // failure it replaces is named (its campaign counted it), so the write is conditioned on that very failure.
    if (record.state === "FAILED") {
      const code = record.errorCode ?? UNKNOWN_ERROR_CODE;
      const late = await succeedIf("#state = :failed AND #error_code = :code", { ":failed": "FAILED", ":code": code });
      if (late.changed) return { changed: true, record: this.codec.fromItem(late.item), replacedFailure: { code } };
      record = this.codec.fromItem(this.mustExist(late.existing));
    }
    // A repeat of the same success is answered from the stored item.
    if (this.kind.sameSuccess(record, success)) return { changed: false, record };
    throw this.kind.mismatch();
  }

  async fail(key: LedgerKey, error: ErrorInfo, now: number): Promise<StateChange<R>> {
    const update = await conditionalUpdate(this.doc, this.table, this.codec.pk(key), {
      UpdateExpression:
        "SET #state = :failed, #error_code = :code, #error_message = :message, #lease_until = :zero, #updated_at = :now",
      // Once: a succeeded record stays succeeded, a FAILED one keeps its first code.
      ConditionExpression: and(CONDITION.exists, CONDITION.pending),
      ExpressionAttributeNames: {
        "#state": "state",
        "#error_code": "error_code",
        "#error_message": "error_message",
        "#lease_until": "lease_until",
        "#updated_at": "updated_at",
      },
      ExpressionAttributeValues: {
        ":failed": "FAILED",
        ":pending": "PENDING",
        ":code": error.code,
        ":message": error.message,
        ":zero": 0,
        ":now": now,
      },
    });
    return update.changed
      ? { changed: true, record: this.codec.fromItem(update.item) }
      : { changed: false, record: this.codec.fromItem(this.mustExist(update.existing)) };
  }

  async release(
    key: LedgerKey,
    leaseUntil: number,
    now: number,
    lastError?: RetryError,
    options: { notCalled?: boolean } = {},
  ): Promise<boolean> {
    const setError =
      (lastError === undefined ? "" : ", #error_code = :code, #error_message = :message") +
      (lastError?.uncertain ? ", #uncertain = :true" : "");
    // A lease under which no call was made gives back the attempt acquireLease counted.
    const uncount = options.notCalled ? " ADD #attempts :minus_one" : "";
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: this.codec.pk(key) },
          UpdateExpression: `SET #lease_until = :zero, #updated_at = :now${setError}${uncount}`,
          // Fenced on the caller's own lease: a caller whose lease expired must not free the next caller's lease.
          ConditionExpression: and(CONDITION.exists, CONDITION.pending, CONDITION.leaseHeldBy),
          ExpressionAttributeNames: {
            "#state": "state",
            "#lease_until": "lease_until",
            "#updated_at": "updated_at",
            ...(lastError === undefined ? {} : { "#error_code": "error_code", "#error_message": "error_message" }),
            ...(lastError?.uncertain ? { "#uncertain": "uncertain" } : {}),
            ...(options.notCalled ? { "#attempts": "attempts" } : {}),
          },
          ExpressionAttributeValues: {
            ":pending": "PENDING",
            ":lease": leaseUntil,
            ":zero": 0,
            ":now": now,
            ...(lastError === undefined ? {} : { ":code": lastError.code, ":message": lastError.message }),
            ...(lastError?.uncertain ? { ":true": true } : {}),
            ...(options.notCalled ? { ":minus_one": -1 } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async get(key: LedgerKey): Promise<R | undefined> {
    const item = await getItem(this.doc, this.table, this.codec.pk(key));
    return item === undefined ? undefined : this.codec.fromItem(item);
  }

  private mustExist(item: Item | undefined): Item {
    if (item === undefined) throw new NotFoundError("out_request_no", `no ${this.kind.noun} for this out_request_no`);
    return item;
  }
}

/** The attributes every keyed record has, as stored. */
export function baseItem(pk: string, type: string, r: KeyedRecord): Item {
  return {
    pk,
    type,
    mchid: r.mchid,
    out_request_no: r.outRequestNo,
    request_hash: r.requestHash,
    state: r.state,
    error_code: r.errorCode,
    error_message: r.errorMessage,
    attempts: r.attempts,
    lease_until: r.leaseUntil,
    uncertain: r.uncertain,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/** Reads the attributes every keyed record has. */
export function baseRecord<State extends string>(item: Item): KeyedRecord<State> {
  return {
    mchid: str(item, "mchid"),
    outRequestNo: str(item, "out_request_no"),
    requestHash: str(item, "request_hash"),
    state: str(item, "state") as KeyedRecord<State>["state"],
    attempts: num(item, "attempts"),
    leaseUntil: num(item, "lease_until"),
    createdAt: num(item, "created_at"),
    updatedAt: num(item, "updated_at"),
    ...optionalStrings(item, { errorCode: "error_code", errorMessage: "error_message" }),
    ...(item.uncertain === true ? { uncertain: true } : {}),
  };
}

/** `#name = :name` assignments for plain attribute names. */
function fieldUpdates(fields: Item) {
  return {
    names: Object.fromEntries(Object.keys(fields).map((name) => [`#${name}`, name])),
    values: Object.fromEntries(Object.entries(fields).map(([name, value]) => [`:${name}`, value])),
    sets: Object.keys(fields)
      .map((name) => `#${name} = :${name}`)
      .join(", "),
  };
}
