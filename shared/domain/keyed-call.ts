import { CallWithheldError, ConflictError, NotFoundError } from "./errors.js";
import type { Clock, KeyedLedger, KeyedRecord, LeaseResult, NewKeyedRecord, SucceededState } from "./ports.js";
import { decideAfterFailure, type HoldReason, outcomeUnknown } from "./sends/failure-policy.js";

/**
 * The outcome of one keyed WeChat call (a coupon send, a stock creation), whoever made it:
 * - succeeded (`SENT`, `CREATED`) or `FAILED`: final, `replayed` when the record was already final before this call;
 * - `RETRY`: still PENDING after a retryable failure: call again later with the same out_request_no;
 * - `IN_PROGRESS`: another caller holds the lease right now.
 */
export type KeyedOutcome<R extends KeyedRecord> = Succeeded<R> | Failed<R> | Retry<R> | InProgress<R>;

export interface Succeeded<R extends KeyedRecord> {
  status: SucceededState<R>;
  replayed: boolean;
  record: R;
}

export interface Failed<R extends KeyedRecord> {
  status: "FAILED";
  code: string;
  message: string;
  replayed: boolean;
  record: R;
}

export interface Retry<R extends KeyedRecord> {
  status: "RETRY";
  code: string;
  message: string;
  rateLimited: boolean;
  /** Keys, certificates or signatures are wrong: retrying helps only after an operator fixes them. */
  needsOperator: boolean;
  /**
   * WeChat refused the call for its stock (not running, not started, budget exhausted for now) or its merchant (not
   * permitted, appid not bound: shared/domain/sends/failure-policy.ts): the campaign holds or pauses rather than
   * retrying at once; `untilMs` when the refusal passes by itself.
   */
  hold?: { reason: HoldReason; untilMs?: number };
  record: R;
}

export interface InProgress<R extends KeyedRecord> {
  status: "IN_PROGRESS";
  retryAfterMs: number;
  record: R;
}

export type FinalOutcome<R extends KeyedRecord> = Succeeded<R> | Failed<R>;

/** The code of a `RETRY` whose call was not made: `beforeCall` said it could not start in time. */
export const CALL_DEFERRED = "CALL_DEFERRED";

/** The code a FAILED record is answered with when it has none. */
export const UNKNOWN_ERROR_CODE = "UNKNOWN";

export interface KeyedCall<R extends KeyedRecord, N extends NewKeyedRecord, S> {
  ledger: KeyedLedger<R, N, S>;
  clock: Clock;
  /** How long one caller may hold the right to call WeChat: longer than the client's whole retry budget. */
  leaseMs: number;
  /** The record to claim; its key is the idempotency key and its `requestHash` what makes two calls the same. */
  claim: N;
  /**
   * The record was written beforehand (a campaign's recipients are prepared before they are queued,
   * shared/domain/campaigns/campaign-recipients.ts): its lease is taken directly, and a missing record is a
   * `NotFoundError` (the message is not one the service queued), never claimed here.
   */
  prepared?: boolean;
  /** Says what the key was used for when a call with another request hash reuses it. */
  conflictMessage: string;
  /**
   * The WeChat call, made only while holding the lease. A `CallWithheldError` from it means no request was made (its
   * last check before the request said no, shared/domain/gateway.ts): the lease is dropped without marking the record
   * uncertain, and the error propagates.
   */
  call: () => Promise<S>;
  /**
   * Asked with the lease held, right before the call: whether the call may still start now (a send's rate token is
   * for one second; taking the lease may have outlasted it, shared/domain/rate/rate-governor.ts). False: no call is
   * made, the lease is released without counting the attempt, and the outcome is `RETRY` with `CALL_DEFERRED`.
   */
  beforeCall?: () => Promise<boolean>;
  /**
   * For a record whose call may have succeeded unseen (`uncertain`): asks WeChat, before a failure is recorded
   * final, whether it holds the success after all. Without it such a failure is recorded as it is.
   */
  recover?: (record: R) => Promise<Recovery<S>>;
  /**
   * Runs once the outcome is known and before it is recorded final (a campaign counts its sends here, so a crash in
   * between can only count twice, never leave an outcome uncounted; a send writes its coupon's record here, with
   * WeChat's answer `success`, so no SENT send lacks one). If it throws, the lease is dropped (the retry
   * need not wait it out) and the error propagates. What it returns runs after the final write.
   */
  beforeFinal?: (outcome: { failed: false; success: S } | { failed: true; code: string }) => Promise<AfterFinal>;
}

/**
 * Runs after the final write, told what it did: `replacedFailure` when a success replaced a recorded failure (a late
 * success, `KeyedLedger.succeed`).
 */
export type AfterFinal = ((final: { replacedFailure?: { code: string } }) => Promise<void>) | undefined;

/**
 * What WeChat holds for an uncertain record: its success (`found`), nothing (`none`: the failure stands), or more than
 * one candidate it cannot tell apart (`ambiguous`: the record stays PENDING for an operator).
 */
export type Recovery<S> =
  | { status: "found"; success: S }
  | { status: "none" }
  | { status: "ambiguous"; reason: string };

/** The code of a failure left PENDING because WeChat could not say whether the call succeeded. */
export const UNCERTAIN_OUTCOME = "UNCERTAIN_OUTCOME";

/**
 * Makes a WeChat call at most once per (mchid, out_request_no): claim the record (its request hash must match),
 * take the lease, call, record the outcome. Store errors after the call propagate: the lease then expires and a retry
 * asks WeChat again with the same key, which WeChat de-duplicates.
 */
export async function runKeyedCall<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
): Promise<KeyedOutcome<R>> {
  const held = await takeLease(spec);
  if ("status" in held) return held;
  const { record } = held;
  if (spec.beforeCall && !(await callMayStart(spec, record))) {
    await spec.ledger.release(record, record.leaseUntil, spec.clock(), undefined, { notCalled: true });
    const message = "the call could not start in time (its rate token lapsed); nothing was sent";
    return { status: "RETRY", code: CALL_DEFERRED, message, rateLimited: false, needsOperator: false, record };
  }
  let success: S;
  try {
    success = await spec.call();
  } catch (error) {
    if (error instanceof CallWithheldError) {
      await spec.ledger.release(record, record.leaseUntil, spec.clock());
      throw error;
    }
    return settleFailure(spec, record, error);
  }
  return settleSuccess(spec, record, success);
}

/** `beforeCall`'s answer; if it throws, the lease is released uncounted (nothing was sent) and the error propagates. */
async function callMayStart<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
  record: R,
): Promise<boolean> {
  try {
    return await spec.beforeCall!();
  } catch (error) {
    await spec.ledger
      .release(record, record.leaseUntil, spec.clock(), undefined, { notCalled: true })
      .catch(() => false);
    throw error;
  }
}

async function settleSuccess<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
  record: R,
  success: S,
): Promise<KeyedOutcome<R>> {
  const after = await before(spec, record, { failed: false, success });
  const change = await spec.ledger.succeed(record, success, spec.clock());
  await after?.(change.replacedFailure === undefined ? {} : { replacedFailure: change.replacedFailure });
  return finalOutcome(change.record, !change.changed)!;
}

async function settleFailure<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
  record: R,
  error: unknown,
): Promise<KeyedOutcome<R>> {
  const decision = decideAfterFailure(error, record.attempts);
  const uncertain = record.uncertain === true || outcomeUnknown(error);
  if (decision.action === "retry") {
    const { code, message, rateLimited } = decision;
    return retry(spec, record, { code, message, uncertain }, rateLimited, decision.needsOperator ?? false);
  }
  // A call that may have succeeded unseen is not recorded failed before WeChat says it holds nothing for it: a
  // refusal after a lost answer (the stock paused meanwhile) or an exhausted budget would otherwise hide a coupon.
  // A refusal that is only held (the stock, the merchant) asks too: the coupon is then known at once instead of after the hold.
  if (uncertain && spec.recover) {
    let recovery: Recovery<S> | undefined;
    try {
      recovery = await spec.recover(record);
    } catch {
      if (decision.action === "fail") {
        return retry(spec, record, uncertainError(`${decision.code}; WeChat could not be asked`), false, false);
      }
    }
    if (recovery?.status === "found") return settleSuccess(spec, record, recovery.success);
    if (recovery?.status === "ambiguous" && decision.action === "fail") {
      return retry(spec, record, uncertainError(recovery.reason), false, true);
    }
  }
  if (decision.action === "hold") {
    const { code, message, reason, untilMs } = decision;
    const hold = { reason, ...(untilMs === undefined ? {} : { untilMs }) };
    return retry(spec, record, { code, message, uncertain }, false, false, hold);
  }
  const after = await before(spec, record, { failed: true, code: decision.code });
  const change = await spec.ledger.fail(record, decision, spec.clock());
  await after?.({});
  return finalOutcome(change.record, !change.changed)!;
}

const uncertainError = (detail: string) => ({
  code: UNCERTAIN_OUTCOME,
  message: `the outcome of an earlier call is unknown (${detail})`,
  uncertain: true,
});

/** Drops the lease (recording the error) so the same key is tried again later. */
async function retry<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
  record: R,
  error: { code: string; message: string; uncertain: boolean },
  rateLimited: boolean,
  needsOperator: boolean,
  hold?: Retry<R>["hold"],
): Promise<KeyedOutcome<R>> {
  await spec.ledger.release(record, record.leaseUntil, spec.clock(), error);
  return {
    status: "RETRY",
    code: error.code,
    message: error.message,
    rateLimited,
    needsOperator,
    ...(hold ? { hold } : {}),
    record,
  };
}

/** The outcome a final record answers with (replays, waits for another caller); undefined while PENDING. */
export function finalOutcome<R extends KeyedRecord>(record: R, replayed: boolean): FinalOutcome<R> | undefined {
  if (record.state === "PENDING") return undefined;
  if (record.state === "FAILED") {
    const code = record.errorCode ?? UNKNOWN_ERROR_CODE;
    return { status: "FAILED", code, message: record.errorMessage ?? `failed with ${code}`, replayed, record };
  }
  return { status: record.state as SucceededState<R>, replayed, record };
}

async function takeLease<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
): Promise<{ record: R } | KeyedOutcome<R>> {
  const now = spec.clock();
  if (spec.prepared) {
    const lease = await spec.ledger.acquireLease(spec.claim, now, spec.leaseMs);
    if (lease.status === "missing") {
      throw new NotFoundError("out_request_no", `no record for ${spec.claim.outRequestNo}: it was never prepared`);
    }
    if (lease.record.requestHash !== spec.claim.requestHash) {
      if (lease.status === "acquired") await spec.ledger.release(lease.record, lease.record.leaseUntil, now);
      throw conflict(spec);
    }
    return leaseOutcome(spec, lease, now);
  }
  const claim = await spec.ledger.claim(spec.claim, { leaseMs: spec.leaseMs });
  if (claim.created) return { record: claim.record };
  if (claim.record.requestHash !== spec.claim.requestHash) throw conflict(spec);
  const stored = finalOutcome(claim.record, true);
  if (stored) return stored;
  return leaseOutcome(spec, await spec.ledger.acquireLease(spec.claim, now, spec.leaseMs), now);
}

function conflict<R extends KeyedRecord, N extends NewKeyedRecord, S>(spec: KeyedCall<R, N, S>): ConflictError {
  return new ConflictError("OUT_REQUEST_NO_CONFLICT", "out_request_no", spec.conflictMessage);
}

function leaseOutcome<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
  lease: LeaseResult<R>,
  now: number,
): { record: R } | KeyedOutcome<R> {
  switch (lease.status) {
    case "acquired":
      return { record: lease.record };
    case "busy":
      return {
        status: "IN_PROGRESS",
        retryAfterMs: Math.max(lease.record.leaseUntil - now, 100),
        record: lease.record,
      };
    case "final":
      return finalOutcome(lease.record, true)!;
    case "missing":
      throw new Error(`ledger record ${spec.claim.outRequestNo} vanished between claim and lease`);
  }
}

async function before<R extends KeyedRecord, N extends NewKeyedRecord, S>(
  spec: KeyedCall<R, N, S>,
  record: R,
  outcome: { failed: false; success: S } | { failed: true; code: string },
): Promise<AfterFinal> {
  if (!spec.beforeFinal) return undefined;
  try {
    return await spec.beforeFinal(outcome);
  } catch (error) {
    // A success WeChat answered but that could not be recorded: the record is uncertain from now on, so a refusal of
    // the same key later (the stock paused meanwhile) asks WeChat for it rather than hiding it behind a failure.
    const unrecorded = outcome.failed
      ? undefined
      : {
          code: OUTCOME_NOT_RECORDED,
          message: "WeChat's success could not be recorded; it is asked again",
          uncertain: true,
        };
    await spec.ledger.release(record, record.leaseUntil, spec.clock(), unrecorded).catch(() => false);
    throw error;
  }
}

/**
 * A PENDING record for which WeChat certainly issued nothing, so it may be withdrawn without asking WeChat (a
 * cancelled campaign's send): never leased, or every call made for it answered that nothing was done (a refusal
 * retried or held, a 429) and was released. A call whose outcome is unknown marks the record `uncertain` (a timeout,
 * a 5xx, a success that could not be recorded, a lease that lapsed with its holder), and a lease held or lapsed is
 * not 0.
 */
export function certainlyNotIssued(record: Pick<KeyedRecord, "state" | "leaseUntil" | "uncertain">): boolean {
  return record.state === "PENDING" && record.leaseUntil === 0 && record.uncertain !== true;
}

/** The last error of a record whose success WeChat answered but the service could not record (it retries). */
export const OUTCOME_NOT_RECORDED = "OUTCOME_NOT_RECORDED";
