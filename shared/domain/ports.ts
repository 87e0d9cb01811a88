import type { ServiceEvent } from "./events/service-events.js";
/**
 * The domain's dependencies, as small interfaces. Adapters live in `shared/adapters/` (DynamoDB, SQS, Secrets Manager,
 * and in-memory fakes that are the reference for the contract suites in `test/contract/`). Nothing here imports AWS.
 *
 * Conventions shared by every port:
 * - times are epoch milliseconds supplied by the caller (`now`), so tests are deterministic; only `Clock` reads time;
 * - writes that may race are conditional; a lost race is reported as data (`created: false`, `changed: false`, …)
 *   carrying the record as stored, never as an exception, so a replay can return the stored outcome;
 * - a key reused for a *different* request is a `ConflictError` (shared/domain/errors.ts) only where the port itself
 *   can tell (campaign create); for sends and stock requests the caller compares `requestHash`;
 * - returned records are copies: mutating them changes nothing stored.
 */

/** Current time in epoch milliseconds. Production: `Date.now`. */
export type Clock = () => number;

// ---------------------------------------------------------------------------------------------------------------
// KeyedLedger: one record per (mchid, out_request_no) for every idempotent WeChat call (sends, stock creation)
// ---------------------------------------------------------------------------------------------------------------

/** Key of a ledger record: WeChat de-duplicates on the same pair. */
export interface LedgerKey {
  mchid: string;
  outRequestNo: string;
}

/**
 * The fields every keyed call record has. `Succeeded` is its kind's success state (`SENT`, `CREATED`): the record is
 * PENDING until WeChat answered, then succeeded or FAILED.
 */
export interface KeyedRecord<Succeeded extends string = string, Withdrawn extends string = never> extends LedgerKey {
  /** Hash of the request's business fields: a replay with another hash is a conflict. */
  requestHash: string;
  /** `Withdrawn`: a final state in which WeChat was never called (a send of a cancelled campaign: `CANCELLED`). */
  state: "PENDING" | Succeeded | "FAILED" | Withdrawn;
  /** Final failure code when FAILED; the last retryable error while PENDING (if the caller recorded one). */
  errorCode?: string;
  errorMessage?: string;
  /** Number of leases taken, i.e. WeChat calls started. */
  attempts: number;
  /** Epoch ms until which a caller holds the right to call WeChat; 0 = free. Doubles as the lease's fencing token. */
  leaseUntil: number;
  /**
   * A call for this record may have reached WeChat without its answer reaching us (a timeout, a 5xx, a caller that
   * died with the lease): before a failure is recorded final, WeChat is asked whether the call succeeded after all
   * (`KeyedCall.recover`).
   */
  uncertain?: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A retryable failure as the caller records it on release: `uncertain` when the call's outcome is unknown. */
export interface RetryError extends ErrorInfo {
  uncertain?: boolean;
}

/** What the caller supplies to create a record; the ledger sets state PENDING, attempts and the lease. */
export interface NewKeyedRecord extends LedgerKey {
  requestHash: string;
  createdAt: number;
}

/** The success state of a record type (`SENT` for sends). */
export type SucceededState<R extends KeyedRecord> = Exclude<R["state"], "PENDING" | "FAILED" | WithdrawnState>;

/** The final state of a record WeChat was never called for because its campaign was cancelled. */
export type WithdrawnState = "CANCELLED";

/**
 * Outcome of trying to take the single right to call WeChat for a record.
 * - `acquired`: the caller holds the lease until `record.leaseUntil`; `record.attempts` was incremented.
 * - `busy`: another caller holds an unexpired lease; retry after `record.leaseUntil`.
 * - `final`: the record is no longer PENDING (succeeded or failed): replay `record`, do not call WeChat.
 * - `missing`: no such record (it is always written before a message is queued, so this is a poison message).
 */
export type LeaseResult<R> =
  | { status: "acquired"; record: R }
  | { status: "busy"; record: R }
  | { status: "final"; record: R }
  | { status: "missing" };

/** Outcome of a conditional state change: `changed` is false when the record already held (or had moved past) it. */
export interface StateChange<R> {
  changed: boolean;
  record: R;
}

/** What `succeed` did: `replacedFailure` when the success replaced a FAILED record (a late success), with its code. */
export interface SuccessChange<R> extends StateChange<R> {
  replacedFailure?: { code: string };
}

export interface ClaimResult<R> {
  /** true: this call created the record. false: it existed; `record` is the stored one (compare its requestHash). */
  created: boolean;
  record: R;
}

/** A failure as WeChat (or our validation) reported it. `message` must hold no secret and no decrypted payload. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/**
 * Durable, idempotent record of a WeChat call keyed by out_request_no. The record is written before WeChat is called,
 * and the same out_request_no is reused on every retry, so a crash between the call and `succeed` is healed by the
 * retry (WeChat de-duplicates on the key). `Success` is what the call returned that the record keeps.
 */
export interface KeyedLedger<R extends KeyedRecord, N extends NewKeyedRecord, Success> {
  /**
   * Creates the record if `(mchid, outRequestNo)` is unused (one conditional put). With `leaseMs`, the new record is
   * created already leased to the caller (attempts 1, leaseUntil createdAt+leaseMs), saving a write on the
   * synchronous path.
   */
  claim(record: N, options?: { leaseMs?: number }): Promise<ClaimResult<R>>;
  /**
   * Takes the lease if the record is PENDING and its lease expired (`leaseUntil <= now`); increments attempts. A lease
   * that lapsed (`leaseUntil` not 0: its holder neither released it nor recorded an outcome, e.g. its process died
   * during the call) marks the record `uncertain` in the same write: that call may have reached WeChat.
   */
  acquireLease(key: LedgerKey, now: number, leaseMs: number): Promise<LeaseResult<R>>;
  /**
   * PENDING or FAILED → succeeded with `success` (a late success overrides a recorded failure: the coupon or stock
   * exists). The same success again → `{changed: false}`; another one (another coupon_id or stock_id) → `ConflictError`
   * (WeChat never answers two for one out_request_no). Unknown key → `NotFoundError`.
   */
  succeed(key: LedgerKey, success: Success, now: number): Promise<SuccessChange<R>>;
  /**
   * PENDING → FAILED with a final error code. If the record is no longer PENDING nothing is written and
   * `{changed: false, record}` tells the caller which outcome won. Unknown key → `NotFoundError`.
   */
  fail(key: LedgerKey, error: ErrorInfo, now: number): Promise<StateChange<R>>;
  /**
   * Drops the caller's lease so a retry can run at once (after a retryable error), optionally recording the error;
   * an `uncertain` error marks the record uncertain (it stays so until final). Fenced by `leaseUntil` (the value the
   * caller acquired): if another caller has taken the lease since, or the record is no longer PENDING, nothing is
   * written and the result is false. `notCalled`: the caller made no call under this lease (its rate token lapsed
   * before the call could start, shared/domain/keyed-call.ts): the attempt `acquireLease` counted is taken back.
   */
  release(
    key: LedgerKey,
    leaseUntil: number,
    now: number,
    lastError?: RetryError,
    options?: { notCalled?: boolean },
  ): Promise<boolean>;
  /** Strongly consistent read. */
  get(key: LedgerKey): Promise<R | undefined>;
}

// ---- sends: one record per coupon send ----

export type SendKey = LedgerKey;

export interface SendFields {
  stockId: string;
  openid: string;
  appid: string;
  campaignId?: string;
}

/**
 * `CANCELLED`: final, never sent: the recipient's campaign was cancelled before its send started (written by
 * `SendLedger.cancel` in place of a claim, so no worker can take it afterwards).
 */
export interface SendRecord extends KeyedRecord<"SENT", "CANCELLED">, SendFields {
  couponId?: string;
}

export type SendState = SendRecord["state"];

export interface NewSendRecord extends NewKeyedRecord, SendFields {}

export interface ListPage<R> {
  items: R[];
  /** Opaque cursor for the next page; absent on the last page. */
  cursor?: string;
}

export interface SendLedger extends KeyedLedger<SendRecord, NewSendRecord, { couponId: string }> {
  /** Sends of one campaign (reconciliation, progress reports), in out_request_no order. Eventually consistent. */
  listByCampaign(campaignId: string, options?: { limit?: number; cursor?: string }): Promise<ListPage<SendRecord>>;
  /**
   * Makes a campaign's recipients durable before their messages are queued: writes each record as PENDING and never
   * leased (attempts 0, leaseUntil 0) unless its key is used, in which case the stored record is left as it is (one
   * conditional put per record: a replay never rewrites a send that was claimed or is final). A prepared record is
   * taken by its send with `acquireLease`. Idempotent.
   *
   * `fresh`: the caller has just created the campaign or chunk these records belong to, so none of them can have
   * been queued yet, and they are written in batches without conditions (BatchWriteItem has none), several times
   * faster. The one way a stored record is then written over: a replay of the same post, racing the first one, got
   * through its own conditional writes, queue and send before the first one's batches; its send is then made again
   * under the same out_request_no, which WeChat answers with the same coupon (docs/aws-notes.md#scheduled-sweeper).
   */
  prepare(records: readonly NewSendRecord[], options?: { fresh?: boolean }): Promise<void>;
  /**
   * Records a send of a cancelled campaign as final `CANCELLED` if no record exists for its key, or if its record is
   * PENDING and WeChat certainly issued nothing for it (`certainlyNotIssued` in shared/domain/keyed-call.ts: lease
   * free, not uncertain; its attempts are kept): one conditional write, so it never overrides a send that may have
   * reached WeChat. Otherwise nothing is written and `{changed: false, record}` holds the stored record.
   */
  cancel(record: NewSendRecord, now: number): Promise<StateChange<SendRecord>>;
}

// ---- stock creation: one record per create-stock request ----

export interface StockRequestRecord extends KeyedRecord<"CREATED"> {
  /** WeChat's stock_id once created. */
  stockId?: string;
  /** WeChat's response body (JSON-serialisable), replayed to callers who repeat the request. */
  result?: unknown;
}

export type StockRequestLedger = KeyedLedger<StockRequestRecord, NewKeyedRecord, { stockId: string; result: unknown }>;

// ---------------------------------------------------------------------------------------------------------------
// CampaignStore: bulk sends and their counters
// ---------------------------------------------------------------------------------------------------------------

/**
 * - ACCEPTED: nothing queued or counted yet; SENDING: under way;
 * - SCHEDULED: `startAt` is in the future (only `campaignStatus`, which knows the time, derives it);
 * - PAUSED: an operator paused it (`control` PAUSED);
 * - CANCELLING: cancelled, the unsent recipients are being recorded CANCELLED;
 * - COMPLETED: sealed and every send has its final outcome (a cancelled campaign ends COMPLETED too).
 */
export type CampaignState = "ACCEPTED" | "SCHEDULED" | "SENDING" | "PAUSED" | "CANCELLING" | "COMPLETED";

/** What the operator asked for: the worker sends only for RUNNING, holds PAUSED, withdraws CANCELLED (final). */
export type CampaignControl = "RUNNING" | "PAUSED" | "CANCELLED";

/**
 * Why a campaign was PAUSED by the service rather than by an operator: WeChat refused its sends because the stock
 * stopped running, or its budget ran out for now (shared/domain/stocks/stock-check.ts), or because it refuses the
 * merchant: not permitted to send, the appid not bound to it, or its signature refused
 * (shared/domain/sends/failure-policy.ts). Absent: an operator's pause.
 */
export type CampaignControlReason =
  | "stock_not_running"
  | "stock_budget_exhausted"
  | "merchant_not_permitted"
  | "appid_not_bound"
  | "credentials_refused";

/** A change of a campaign's control (`CampaignStore.setControl`). */
export interface ControlChange {
  from: readonly CampaignControl[];
  to: CampaignControl;
  /** Stored with the new control; a change without one clears the stored reason. */
  reason?: CampaignControlReason;
}

export interface NewCampaign {
  id: string;
  /** Hash of the campaign request: re-creating the same id with the same hash is a replay, otherwise a conflict. */
  requestHash: string;
  mchid: string;
  stockId: string;
  appid: string;
  /** Number of recipients (sends) in the campaign. */
  total: number;
  /** Sends per second this campaign may use (the workers' rate governor reads it from the messages). */
  ratePerSecond: number;
  /**
   * true: an open campaign whose recipients arrive in numbered chunks (`putChunk` …); `total` starts at 0 and the
   * campaign is sealed by its last chunk. Absent/false: a one-shot campaign of `total` recipients, sealed at once (as
   * one chunk, number 0).
   */
  chunked?: boolean;
  /** Epoch ms before which no send starts (a scheduled campaign); absent: at once. */
  startAt?: number;
  /** A retry campaign: which campaign's failures it re-sends (shared/domain/campaigns/retry-campaign.ts). */
  retryOf?: RetryOrigin;
  createdAt: number;
}

/** What a retry campaign re-sends: the parent's recipients whose final failure code is one of `codes`. */
export interface RetryOrigin {
  campaignId: string;
  /** 1 for the parent's first retry, 2 for its second… */
  attempt: number;
  /** Sorted, without duplicates. */
  codes: string[];
}

/** A retry as its parent lists it. */
export interface RetryLink {
  campaignId: string;
  /** Sorted, without duplicates: a code belongs to at most one retry of a parent. */
  codes: string[];
}

/** How far a retry campaign was filled from its parent's failed records: page `nextPage` is the next to read. */
export interface RetryFill {
  nextPage: number;
  /** The parent's send-ledger cursor of page `nextPage` (absent for page 0). */
  cursor?: string;
  /** The parent's last page was read: the retry is sealed (or will be at its next status read). */
  complete: boolean;
}

export interface CampaignRecord extends NewCampaign {
  /** The operator's last word: RUNNING unless paused or cancelled. */
  control: CampaignControl;
  /** When `control` last changed (pause, resume, cancel). */
  controlChangedAt?: number;
  /** Why the service paused it (absent for an operator's pause, and after any later change). */
  controlReason?: CampaignControlReason;
  /** Derived from the counters on every read (see `deriveCampaignState`), never stored. */
  state: CampaignState;
  chunked: boolean;
  /**
   * Every recipient is known: one-shot campaigns from the start, chunked ones once chunks 0..`lastChunkNo` all
   * arrived (`trySeal`). Until then `total` and `chunksReceived` may lag (never exceed) the chunks received; sealing
   * recounts them exactly.
   */
  sealed: boolean;
  /** Number of the last chunk, once a chunk said it was the last (0 for one-shot campaigns). */
  lastChunkNo?: number;
  chunksReceived: number;
  /** Messages put on the send queue so far. */
  enqueued: number;
  sent: number;
  failed: number;
  /** Recipients recorded CANCELLED (never sent) after the campaign was cancelled. */
  cancelled: number;
  failuresByCode: Record<string, number>;
  /** A parent's retries, oldest first (`addRetry`). */
  retries?: RetryLink[];
  /** A retry campaign's filling progress (`advanceRetryFill`); absent before its first page. */
  retryFill?: RetryFill;
  /** Incremented by every recordOutcome: reconciliation writes only if nothing was counted since it read. */
  version: number;
  /** The counters were recounted from the ledger and every send has its outcome: they are exact. */
  reconciled: boolean;
  /** The sweeper's state for this campaign (absent until its first run sees it). */
  sweep?: CampaignSweep;
  updatedAt: number;
}

/**
 * What the sweeper keeps on a campaign between runs (shared/domain/campaigns/sweep-campaigns.ts): whether the campaign
 * still moves, and the recount pass under way, so that each run does a bounded part of it.
 */
export interface CampaignSweep {
  /** Incremented by every stored step: the guard that keeps two runs from writing over each other. */
  seq: number;
  /**
   * When the sweeper last queued lost sends again (epoch ms; 0: never): they take a while to move the counters, so
   * the stall clock restarts here and the same sends are not queued twice in a row.
   */
  requeuedAt: number;
  /** The recount under way; absent between passes. */
  pass?: SweepPass;
}

/** One recount of a campaign's send records, read a page at a time across runs. */
export interface SweepPass {
  /** The ledger cursor to go on from (absent: from the first record). */
  cursor?: string;
  /** Final outcomes counted so far. */
  counts: CampaignCounts;
  /** Records still PENDING seen so far. */
  pending: number;
  /** Records seen so far. */
  seen: number;
  /** The campaign's `version` when the pass began: its counts are written only if nothing was counted since. */
  startVersion: number;
  startedAt: number;
  /** The campaign had stalled when the pass began: its PENDING records with no live lease are queued again. */
  requeue: boolean;
  /** Sends queued again by this pass. */
  requeued: number;
}
/** Exact counters recounted from the send ledger. */
export interface CampaignCounts {
  sent: number;
  failed: number;
  /** Absent: 0. */
  cancelled?: number;
  failuresByCode: Record<string, number>;
}

/** One page of campaigns, newest first. */
export interface CampaignListOptions {
  mchid: string;
  limit: number;
  cursor?: string;
  /** Only campaigns it accepts are returned; the store reads at most `scanLimit` campaigns for one page. */
  where?: (campaign: CampaignRecord) => boolean;
  scanLimit?: number;
}

export interface CampaignStore {
  /** Conditional put. Same id + same requestHash → `{created: false, record}`; different hash → `ConflictError`. */
  create(campaign: NewCampaign): Promise<ClaimResult<CampaignRecord>>;
  get(id: string): Promise<CampaignRecord | undefined>;
  /**
   * One atomic counter update: adds `tally` (sent, failed, failures by code) to the counters. Not idempotent: the
   * sender counts an outcome once, before recording it final (`succeed`/`fail`), so a crash in between can only
   * over-count, which reconciliation corrects. Returns the counters after the update. A
   * reconciled campaign is left as it is (its counters are the ledger's recount). Unknown id → `NotFoundError`.
   */
  recordOutcomes(id: string, tally: CampaignCounts, now: number): Promise<CampaignRecord>;
  /**
   * A send the recount counted FAILED (`failureCode`) succeeded late (its record became SENT after the campaign was
   * reconciled): one FAILED becomes one SENT in the counters, in one update. Only on a reconciled campaign whose
   * counters still hold such a failure (otherwise left as it is: before the recount, the recount itself counts it).
   */
  recordLateSuccess(id: string, failureCode: string, now: number): Promise<CampaignRecord>;
  /** Adds `count` to `enqueued` (atomic). Unknown id → `NotFoundError`. */
  markEnqueued(id: string, count: number, now: number): Promise<CampaignRecord>;
  /**
   * Replaces the counters with a recount and marks the campaign reconciled, only if it is sealed (an open campaign
   * can still grow) and `version` is still `expectedVersion` (no outcome was counted since the recount began).
   * Returns whether it wrote.
   */
  reconcile(id: string, counts: CampaignCounts, expectedVersion: number, now: number): Promise<boolean>;
  /**
   * The operator's control, in one conditional write that touches nothing else (the counters keep their atomic
   * ADDs): `control` becomes `to` (and `controlReason` the change's reason, or none) only if it is one of `from` and
   * the campaign is not reconciled (COMPLETED). `changed: false` with the stored record when the condition fails (the
   * caller tells why from the record). Unknown id → `NotFoundError`.
   */
  setControl(id: string, change: ControlChange, now: number): Promise<StateChange<CampaignRecord>>;
  /**
   * The merchant's campaigns, newest first (created_at, then id), by pages; the cursor is opaque and validated (a
   * cursor of another list is a `ValidationError` on `cursor`). With `where`, a page may hold fewer than `limit`
   * campaigns (even none) while a cursor is returned: at most `scanLimit` campaigns are read per page. Eventually
   * consistent (an index).
   */
  list(options: CampaignListOptions): Promise<ListPage<CampaignRecord>>;
  /**
   * Seals an open (chunked) campaign as it stands, with the chunks counted so far: a cancelled upload will get no
   * more chunks. No-op when sealed. Unknown id → `NotFoundError`.
   */
  sealAsIs(id: string, now: number): Promise<CampaignRecord>;
  /**
   * Appends `link` to the campaign's `retries` only if it holds exactly `expectedCount` retries (optimistic: two
   * concurrent retries of one parent cannot both be added as its next one). `changed: false` with the stored record
   * otherwise. Unknown id → `NotFoundError`.
   */
  addRetry(id: string, link: RetryLink, expectedCount: number, now: number): Promise<StateChange<CampaignRecord>>;
  /**
   * Stores a retry campaign's filling progress, only forward: written if the stored `nextPage` (0 when none) is lower
   * than `fill.nextPage`. `changed: false` with the stored record otherwise. Unknown id → `NotFoundError`.
   */
  advanceRetryFill(id: string, fill: RetryFill, now: number): Promise<StateChange<CampaignRecord>>;

  // ---- the sweeper's view ----

  /**
   * Campaigns not yet retired (created and not known to be COMPLETED), oldest first, by pages: the sweeper's work
   * list. Eventually consistent (an index). A cursor of another list is a `ValidationError` on `cursor`.
   */
  listActive(options: { limit: number; cursor?: string }): Promise<ListPage<CampaignRecord>>;
  /**
   * Stores the sweeper's state (`sweep.seq` must be `expectedSeq` + 1), only if the stored state's seq is still
   * `expectedSeq` (0: none stored) and the campaign is not reconciled. Touches nothing else (not even `updatedAt`:
   * the sweeper's bookkeeping is no change of the campaign). Returns whether it wrote.
   */
  saveSweep(id: string, sweep: CampaignSweep, expectedSeq: number): Promise<boolean>;
  /** Takes a COMPLETED campaign off the active list. Idempotent; unknown id: nothing happens. */
  retire(id: string, now: number): Promise<void>;

  // ---- chunked campaigns: item per (campaign, chunk_no) ----

  /**
   * Conditional put of a chunk (first writer wins). Same (campaign, chunkNo) again → `{created: false, record}` with
   * the stored chunk: the caller compares `requestHash` (another hash is a CHUNK_CONFLICT). Does not touch the
   * campaign and does not check that it exists (the caller read it first).
   */
  putChunk(chunk: NewCampaignChunk): Promise<ClaimResult<CampaignChunk>>;
  getChunk(id: string, chunkNo: number): Promise<CampaignChunk | undefined>;
  /**
   * Adds a stored chunk to the campaign, at most once per chunk: claims it (`counted` false → true), then ADDs its
   * `count` to `total` and 1 to `chunksReceived`, unless the campaign is already sealed (the seal counted it). A crash
   * between the two writes leaves the counters short by this chunk until `trySeal` recounts them: short, never over.
   * `changed: false` when the chunk had been counted before. Unknown chunk → `NotFoundError`.
   */
  countChunk(id: string, chunkNo: number, now: number): Promise<StateChange<CampaignChunk>>;
  /**
   * The chunk's messages are on the send queue: `enqueued` false → true, then `enqueued` + count on the campaign
   * (progress only; a crash between the two writes leaves it short). `changed: false` if it was marked before.
   * Unknown chunk → `NotFoundError`.
   */
  markChunkEnqueued(id: string, chunkNo: number, now: number): Promise<StateChange<CampaignChunk>>;
  /**
   * Records which chunk is the last one (conditional: unset, or already this number). Another number recorded
   * before → `ConflictError` LAST_CHUNK_CONFLICT (field `last`). Unknown id → `NotFoundError`.
   */
  setLastChunk(id: string, chunkNo: number, now: number): Promise<CampaignRecord>;
  /**
   * Seals the campaign if its last chunk is known and chunks 0..last all exist (strongly consistent reads): `total`
   * becomes the exact sum of their counts and `chunksReceived` last + 1, in one write conditional on not being sealed
   * yet. Returns the record (see `sealed`) and how many of chunks 0..last are still missing (0 when sealed, or when no
   * last chunk is known yet). Unknown id → `NotFoundError`.
   */
  trySeal(id: string, now: number): Promise<{ record: CampaignRecord; missing: number }>;
}

export interface NewCampaignChunk {
  campaignId: string;
  chunkNo: number;
  /** Hash of the openids as posted: the same chunk number with other openids is a conflict. */
  requestHash: string;
  /** Recipients in the chunk after removing duplicates (the number of sends it adds). */
  count: number;
  createdAt: number;
}

export interface CampaignChunk extends NewCampaignChunk {
  /** Its count was added to the campaign's total (`countChunk`). */
  counted: boolean;
  /** Its messages were queued (`markChunkEnqueued`). */
  enqueued: boolean;
  updatedAt: number;
}

/**
 * COMPLETED only once sealed (every recipient is known) and reconciled (the counters were recounted from the ledger
 * and every send is final: a crash between counting a send and recording it final can over-count, never under-count);
 * then CANCELLING or PAUSED while the operator's control says so; SENDING once anything was queued or counted;
 * ACCEPTED before. SCHEDULED needs the time: see `campaignStatus` (shared/domain/campaigns/campaign-lifecycle.ts).
 */
export function deriveCampaignState(c: {
  total: number;
  enqueued: number;
  sent: number;
  failed: number;
  cancelled?: number;
  reconciled?: boolean;
  sealed: boolean;
  control?: CampaignControl;
}): CampaignState {
  if (c.reconciled && c.sealed) return "COMPLETED";
  if (c.control === "CANCELLED") return "CANCELLING";
  if (c.control === "PAUSED") return "PAUSED";
  if (c.enqueued > 0 || c.sent + c.failed + (c.cancelled ?? 0) > 0) return "SENDING";
  return "ACCEPTED";
}

// ---------------------------------------------------------------------------------------------------------------
// NotificationInbox: de-duplicated, stored WeChat notifications
// ---------------------------------------------------------------------------------------------------------------

/** A verified, decrypted COUPON.USE (or other) notification. */
export interface CouponEvent {
  /** WeChat's notification id: the de-duplication key. */
  id: string;
  eventType: string;
  couponId: string;
  stockId: string;
  /** WeChat's `create_time` (RFC 3339 with offset), kept as sent. */
  createTime: string;
  /** Epoch ms when we received it. */
  receivedAt: number;
  /** The decrypted resource as parsed JSON. Stored; never logged. */
  resource: Record<string, unknown>;
}

/** A stored notification: the event as first received. */
export type NotificationRecord = CouponEvent;

export interface RecordOnceResult {
  firstTime: boolean;
  /** The stored notification (the first delivery's, on a repeat). */
  record: NotificationRecord;
}

export interface NotificationInbox {
  /**
   * ONE conditional put that both de-duplicates by `event.id` and stores the event, so no transaction is needed. A
   * repeat delivery gets `firstTime: false` and the stored event.
   */
  recordOnce(event: CouponEvent): Promise<RecordOnceResult>;
  /** Notifications of one coupon, oldest first (index read: eventually consistent). */
  listByCoupon(couponId: string): Promise<NotificationRecord[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// CouponStore: one record per coupon (its lifecycle) and per-campaign use totals
// ---------------------------------------------------------------------------------------------------------------

/**
 * States a coupon record stores. `EXPIRED` is stored by the reconciliation run's expiry phase, after the stock's flow
 * files were compared; until then a SENT coupon reads EXPIRED once its stock has ended (derived on read:
 * shared/domain/coupons/coupon-state.ts).
 */
export type StoredCouponState = "SENT" | "USED" | "REFUNDED" | "EXPIRED";
export type CouponState = StoredCouponState;

/** Where a coupon's history entry came from. */
export type CouponSource = "send" | "notification" | "reconciliation";

export interface CouponHistoryEntry {
  state: StoredCouponState;
  /** Epoch ms: the send's success, WeChat's consume time, the refund's time. */
  at: number;
  source: CouponSource;
  transactionId?: string;
  /** Fen: the amount this use consumed (or this refund returned). */
  amount?: number;
  notificationId?: string;
  outRequestNo?: string;
  /** The reconciliation run that recorded this entry from WeChat's flow files (source `reconciliation`). */
  reconciliationId?: string;
}

/** A coupon this service issued: written just before its send is recorded SENT (`sendCoupon`). */
export interface CouponIssue {
  couponId: string;
  stockId: string;
  mchid: string;
  outRequestNo: string;
  openid: string;
  appid: string;
  campaignId?: string;
  /** Epoch ms at which the send's success was recorded. */
  sentAt: number;
}

/** One use of a coupon (COUPON.USE's `consume_information`, or a use-flow row later). */
export interface CouponUse {
  couponId: string;
  stockId: string;
  /** WeChat's transaction id; a use without one is keyed by the notification id (`useKey`). */
  transactionId?: string;
  /** WeChat's consume_time as sent (RFC 3339 with offset); its date is the use's day in the report. */
  consumeTime: string;
  /** consume_time in epoch ms. */
  usedAt: number;
  consumeMchid?: string;
  /** Fen consumed: consume_amount when WeChat sends it, else the coupon's face value (coupon_amount). */
  amount: number;
  /** The coupon's face value (normal_coupon_information.coupon_amount), when known. */
  couponAmount?: number;
  /** The stock's available_end_time (epoch ms), when the notification carried it. */
  availableEndTime?: number;
  source: CouponSource;
  notificationId?: string;
  /** Set when a reconciliation run found this use in the use-flow file. */
  reconciliationId?: string;
}

/** An unused coupon whose stock's window has passed (recorded by a reconciliation run's expiry phase). */
export interface CouponExpiry {
  couponId: string;
  /** The stock's available_end_time (epoch ms): the moment the coupon expired. */
  expiredAt: number;
  source: CouponSource;
  /** The reconciliation run that recorded the expiry. */
  reconciliationId?: string;
}

/** A use returned (退券): arrives through reconciliation with the refund flow. */
export interface CouponRefund {
  couponId: string;
  stockId: string;
  refundedAt: number;
  amount?: number;
  transactionId?: string;
  source: CouponSource;
  /** Set when a reconciliation run found this refund in the refund-flow file. */
  reconciliationId?: string;
}

export interface CouponRecord {
  couponId: string;
  stockId: string;
  state: StoredCouponState;
  /** false: WeChat reported this coupon but no send of this service is (yet) recorded for it. */
  issuedByService: boolean;
  mchid?: string;
  outRequestNo?: string;
  openid?: string;
  appid?: string;
  campaignId?: string;
  sentAt?: number;
  /** First use. */
  usedAt?: number;
  consumeTime?: string;
  consumeMchid?: string;
  /** Every transaction that used the coupon, in the order recorded. */
  transactionIds: string[];
  /** Fen consumed over all uses. */
  usedAmount?: number;
  couponAmount?: number;
  refundedAt?: number;
  /** When an expiry was recorded: the stock's available_end_time (epoch ms). */
  expiredAt?: number;
  availableEndTime?: number;
  /** Who reported the first use: `notification` (COUPON.USE) or `reconciliation` (the use-flow file). */
  foundBy?: CouponSource;
  /** Oldest first (by `at`, then as recorded). */
  history: CouponHistoryEntry[];
  /** The use is in its campaign's totals (`countUse`). */
  counted: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Per-campaign use totals, kept in one item by `countUse`: read in O(1) by the report. */
export interface CampaignUseTotals {
  campaignId: string;
  used: number;
  /** Fen. */
  usedAmount: number;
  /** Earliest consume time counted (epoch ms). */
  firstUsedAt?: number;
  /** Shortest send-to-use time counted (ms). */
  fastestUseMs?: number;
  /** Uses per day of WeChat's consume_time (`YYYY-MM-DD` in the time's own offset). */
  usesByDay: Record<string, number>;
  /** Time-to-use histogram: bucket (shared/domain/coupons/time-to-use.ts) → uses. */
  timeToUse: Record<number, number>;
}

/** How `countUse` ended: `busy` = another caller is counting it right now (retry later: the caller's error). */
export type CountUseResult = "counted" | "already" | "busy" | "not_countable";

export interface CouponListOptions {
  limit: number;
  cursor?: string;
  /**
   * Only records in this stored state. `SENT` selects the unused coupons: those stored SENT and those stored EXPIRED
   * (they share the list's order key, record-rules.ts `couponListOrder`), so it never selects `EXPIRED` alone.
   */
  state?: Exclude<StoredCouponState, "EXPIRED">;
  /** With state USED: first use in [usedFrom, usedTo) (epoch ms). */
  usedFrom?: number;
  usedTo?: number;
}

export interface CouponStore {
  /**
   * Records that this service issued the coupon (idempotent): creates it SENT, or completes a record a use created
   * first (`issuedByService` becomes true, the state stays USED). The same issue again → `changed: false`; another
   * out_request_no for the same coupon_id → `ConflictError` COUPON_ID_REISSUED.
   */
  recordIssued(issue: CouponIssue, now: number): Promise<StateChange<CouponRecord>>;
  /**
   * SENT or EXPIRED (a use WeChat reports wins over an expiry recorded for want of one), or unknown (created with
   * `issuedByService: false`) → USED. The same use again (same `useKey`) → `changed:
   * false`; a further use with another transaction (REFUNDED → USED, or a multi-use coupon) is appended.
   */
  recordUse(use: CouponUse, now: number): Promise<StateChange<CouponRecord>>;
  /** USED → REFUNDED, once per refund; a coupon never used (or unknown) → `NotFoundError`/`changed: false`. */
  recordRefund(refund: CouponRefund, now: number): Promise<StateChange<CouponRecord>>;
  /**
   * SENT → EXPIRED (history entry, `expiredAt`), once; any other state → `changed: false` (a used coupon never
   * expires). Unknown → `NotFoundError`.
   */
  recordExpiry(expiry: CouponExpiry, now: number): Promise<StateChange<CouponRecord>>;
  /**
   * Adds a used, issued coupon's first use to its campaign's totals exactly once, however often and concurrently it
   * is called (a lease on the coupon, a token on the totals item: see the DynamoDB adapter). `leaseMs` must exceed the
   * caller's own time limit. `not_countable`: not used, not of a campaign, or unknown.
   */
  countUse(couponId: string, now: number, leaseMs: number): Promise<CountUseResult>;
  /** Strongly consistent read. */
  get(couponId: string): Promise<CouponRecord | undefined>;
  /** Strongly consistent reads of up to 100 coupons at once (reconciliation); unknown ids are absent from the map. */
  getMany(couponIds: readonly string[]): Promise<Map<string, CouponRecord>>;
  /**
   * A campaign's coupons (those this service issued), ordered by state, then time (sent, used or refunded), then id;
   * cursor opaque and validated. Eventually consistent (an index).
   */
  listByCampaign(campaignId: string, options: CouponListOptions): Promise<ListPage<CouponRecord>>;
  /**
   * The ids of every coupon this service issued of a stock (whatever their state now), ordered by id; cursor opaque.
   * Eventually consistent (an index): the expiry phase of a reconciliation run pages through it.
   */
  listIssuedByStock(stockId: string, options: { limit: number; cursor?: string }): Promise<ListPage<string>>;
  /** The campaign's use totals (zeros when nothing was used). Strongly consistent. */
  campaignUses(campaignId: string): Promise<CampaignUseTotals>;
}

// ---------------------------------------------------------------------------------------------------------------
// Queues
// ---------------------------------------------------------------------------------------------------------------

/** The body of one send-queue message: the send record exists before the message does. */
export interface SendMessage {
  mchid: string;
  outRequestNo: string;
  campaignId?: string;
  stockId: string;
  openid: string;
  appid: string;
  /** The campaign's rate, carried so the worker need not read the campaign per message. */
  ratePerSecond?: number;
  /** How many times a worker handed this send back as a fresh copy to keep it out of the DLQ (absent: never). */
  recycled?: number;
  /** How many fresh copies a hold (paused or scheduled campaign) made of this send so far (absent: none). */
  held?: number;
}

export interface SendQueue {
  /**
   * Enqueues every message (in batches of 10; entries a batch reports as failed are retried, never dropped).
   * Throws `QueueError` if some still fail after retries; the messages that did go in stay queued, which is harmless
   * because the worker is idempotent on out_request_no.
   */
  enqueue(messages: SendMessage[]): Promise<void>;
  /**
   * Makes a received message invisible for `seconds` more (0–43200, clamped): per-message back-off before reporting it
   * in `batchItemFailures`. `receiptHandle` is the SQS record's, opaque to the domain.
   */
  delay(receiptHandle: string, seconds: number): Promise<void>;
  /** Enqueues one message again as a new copy, visible after `delaySeconds` (0–900, clamped). */
  requeue(message: SendMessage, delaySeconds: number): Promise<void>;
}

/**
 * The service's event bus (EventBridge in AWS): at-least-once publication of the events of recorded changes
 * (shared/domain/events/service-events.ts); consumers de-duplicate by `detail.event_id`. Fed from the table's stream,
 * never from a request's path (docs/events.md#outbox).
 */
export interface EventBus {
  /** Publishes every event or throws (nothing is reported published that was not). */
  publish(events: readonly ServiceEvent[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets and certificates
// ---------------------------------------------------------------------------------------------------------------

/**
 * The merchant's credentials. Secrets Manager JSON shape:
 * `{"mchid","merchant_serial_no","merchant_private_key","apiv3_key","wechatpay_public_key_id","wechatpay_public_key","appid"}`.
 * Never log it, never put any part of it in an error.
 */
export interface MerchantSecret {
  mchid: string;
  merchantSerialNo: string;
  merchantPrivateKeyPem: string;
  /** 32-byte APIv3 key (AEAD_AES_256_GCM). */
  apiv3Key: string;
  /** `PUB_KEY_ID_…`: set in public-key mode, absent in platform-certificate mode. */
  wechatpayPublicKeyId?: string;
  wechatpayPublicKeyPem?: string;
  appid?: string;
}

export interface MerchantSecretSource {
  /**
   * Cached for minutes (per container); errors are `SecretError`s naming the missing or invalid field. The same frozen
   * object while the secret's content is unchanged, so callers may compare by identity.
   */
  load(): Promise<MerchantSecret>;
}

/** A decrypted WeChat Pay platform certificate (platform-certificate mode). */
export interface PlatformCertificate {
  serial: string;
  pem: string;
  /** RFC 3339, as WeChat sends them. */
  effectiveTime: string;
  expireTime: string;
  fetchedAt: number;
}

/** Shared cache of platform certificates (`CERT#{serial}`), filled by cert-refresh, read by every function. */
export interface PlatformCertificateCache {
  /** Upsert; expired items are removed by the table's TTL some time after `expireTime`. */
  put(cert: PlatformCertificate): Promise<void>;
  /** All cached certificates (including expired ones that TTL has not removed yet: filter on `expireTime`). */
  list(): Promise<PlatformCertificate[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Dead letters
// ---------------------------------------------------------------------------------------------------------------

/** Where a poison message goes, with the reason it could not be processed (the send DLQ, redrivable). */
export interface DeadLetterSink {
  put(body: string, reason: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Exports: a campaign's coupons or failures as a CSV object, written by the export function
// ---------------------------------------------------------------------------------------------------------------

/** What an export holds: the campaign's issued coupons, or its failed sends. */
export type ExportKind = "coupons" | "failures";
export type ExportState = "PENDING" | "RUNNING" | "COMPLETED" | "FAILED";

/** One uploaded part of the export's multipart object. */
export interface ExportPart {
  partNumber: number;
  etag: string;
}

/**
 * Where an unfinished export stands: every row before `cursor` is in the uploaded `parts` (the CSV is flushed as a
 * part only at a page boundary, so a checkpoint never holds CSV bytes of its own and stays a few hundred bytes).
 */
export interface ExportCheckpoint {
  uploadId: string;
  /** The source's cursor of the next page to read; absent: the first page (or, `uploaded`, none is left). */
  cursor?: string;
  parts: ExportPart[];
  rows: number;
  bytes: number;
  /**
   * Every part is uploaded and `parts` is final: only `completeUpload` is left, and it may have succeeded already
   * (its answer, or the record's write after it, lost). Nothing is read again.
   */
  uploaded?: boolean;
}

export interface NewExport {
  exportId: string;
  campaignId: string;
  what: ExportKind;
  /** The object's key in the export bucket. */
  objectKey: string;
  /** The campaign's stock: a coupons export pages through the stock's issued coupons (`listIssuedByStock`). */
  stockId: string;
  /** The stock's available_end_time when the export was asked for: SENT coupons after it are written EXPIRED. */
  availableEndTime?: number;
  createdAt: number;
}

export interface ExportRecord extends NewExport {
  state: ExportState;
  /** Invocations of the export function that worked on it (claims). */
  invocations: number;
  /** Epoch ms until which one invocation holds the export; 0 = free. Doubles as the fencing token. */
  leaseUntil: number;
  checkpoint?: ExportCheckpoint;
  /** Final figures, once COMPLETED. */
  rows?: number;
  bytes?: number;
  completedAt?: number;
  error?: ErrorInfo;
  updatedAt: number;
}

/** Outcome of `claim`: `acquired` (the caller holds the lease), `busy` (another holds it), `final`, `missing`. */
export type ExportClaim =
  | { status: "acquired"; record: ExportRecord }
  | { status: "busy" | "final"; record: ExportRecord }
  | { status: "missing" };

export interface ExportStore {
  /**
   * The export of (campaign, what) that is still fresh at `now` (created after `now - freshMs` and not FAILED), else
   * `record` is created as the current one: one conditional write on the (campaign, what) pointer, so concurrent
   * requests agree on one export. `created: false` with the current export when it was fresh.
   */
  startOrReuse(record: NewExport, now: number, freshMs: number): Promise<ClaimResult<ExportRecord>>;
  get(exportId: string): Promise<ExportRecord | undefined>;
  /** Takes the lease if the export is PENDING or RUNNING and its lease expired; counts the invocation. */
  claim(exportId: string, now: number, leaseMs: number): Promise<ExportClaim>;
  /** Stores progress, fenced on the caller's lease (`leaseUntil`); false: the lease was lost (stop writing). */
  saveCheckpoint(exportId: string, leaseUntil: number, checkpoint: ExportCheckpoint, now: number): Promise<boolean>;
  /** Drops the lease so the next invocation can claim at once (the export goes on from its checkpoint). Fenced. */
  release(exportId: string, leaseUntil: number, now: number): Promise<boolean>;
  /** RUNNING → COMPLETED with the figures (fenced); idempotent. */
  complete(
    exportId: string,
    leaseUntil: number,
    result: { rows: number; bytes: number },
    now: number,
  ): Promise<boolean>;
  /** → FAILED with the reason (fenced). */
  fail(exportId: string, leaseUntil: number, error: ErrorInfo, now: number): Promise<boolean>;
}

/** The export bucket as the export function writes it: a multipart upload written part by part across invocations. */
export interface ExportObjects {
  createUpload(key: string, filename: string): Promise<string>;
  uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string>;
  /**
   * Assembles the object from `parts`. Completing an upload that an earlier call already completed succeeds too (S3
   * answers that call NoSuchUpload; the object at the export's own key tells): no other upload completes that key.
   */
  completeUpload(key: string, uploadId: string, parts: ExportPart[]): Promise<void>;
}

/** The export bucket as the api reads it: a time-limited GET link to a finished object. */
export interface ExportLinks {
  downloadUrl(key: string, expiresInSeconds: number, filename: string): Promise<string>;
}

/** One message of the export function's queue: which export to work on, and how many tries failed before. */
export interface ExportJob {
  exportId: string;
  /** Tries that ended in an error so far (0 for the first message and for each continuation). */
  failedTries: number;
}

/** The export function's queue: one message per export to work on (again). */
export interface ExportQueue {
  /** Enqueues the job, visible after `delaySeconds` (0–900). */
  enqueue(job: ExportJob, delaySeconds?: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Reconciliation with WeChat's use-flow and refund-flow files (shared/domain/reconciliation/*)
// ---------------------------------------------------------------------------------------------------------------

/** WeChat's two flow files of a stock. */
export type FlowKind = "use" | "refund";
/**
 * What a run is doing: reading the use flow, then the refund flow, then recording the stock's still unused coupons
 * EXPIRED (after both files, so a use the files report is recorded before the coupon could be expired).
 */
export type ReconciliationPhase = FlowKind | "expire";

/** Where a run stands: the phase, the rows (or coupons) of it already done, and the expiry phase's list cursor. */
export interface ReconciliationPosition {
  phase: ReconciliationPhase;
  offset: number;
  cursor?: string;
}
export type ReconciliationStatus = "RUNNING" | "COMPLETED" | "FAILED";
export type ReconciliationTrigger = "schedule" | "request";

/**
 * What a run found, per flow row:
 * - `use_recovered`: a use WeChat has and the service had not recorded; now recorded USED (found by reconciliation)
 *   and counted in its campaign;
 * - `refund_recorded`: a refund of a recorded use; now REFUNDED;
 * - `not_issued`: a row for a coupon no send of this service recorded (another channel's coupon of the same stock;
 *   a flow row names no recipient and no send, so a coupon WeChat issued for a send this service could not settle
 *   shows here too: docs/coupon-lifecycle.md#failed-sends-wechat-shows-used).
 */
export type FindingKind = "use_recovered" | "refund_recorded" | "not_issued";
export const FINDING_KINDS: readonly FindingKind[] = ["use_recovered", "refund_recorded", "not_issued"];

/**
 * Rows read per flow, findings per kind and coupons recorded EXPIRED (each row or coupon counted once, whatever the
 * number of invocations).
 */
export type ReconciliationCounts = Record<FindingKind | "use_rows" | "refund_rows" | "expired", number>;

export interface ReconciliationRecord {
  id: string;
  stockId: string;
  trigger: ReconciliationTrigger;
  status: ReconciliationStatus;
  /**
   * The phase and the rows of it already compared, or coupons already looked at in the expiry phase (the checkpoint a
   * next invocation resumes from); `cursor`: the expiry phase's position in the stock's coupon list.
   */
  phase: ReconciliationPhase;
  offset: number;
  cursor?: string;
  counts: ReconciliationCounts;
  /** The stock's available_end_time (epoch ms): its unused coupons expire at it. */
  availableEndTime: number;
  /** When WeChat serves the stock's flows (`flowFilesAvailableAt` of its available_end_time), epoch ms. */
  availableAt: number;
  /** Invocations that ended in an error; the run is FAILED after `MAX_RUN_FAILURES`. */
  failures: number;
  lastError?: { code: string; message: string };
  leaseUntil?: number;
  createdAt: number;
  updatedAt: number;
  completedAt?: number;
}

export interface ReconciliationFinding {
  kind: FindingKind;
  flow: FlowKind;
  couponId: string;
  stockId: string;
  transactionId: string;
  /** The row's consume_time or refund_time (RFC 3339, Beijing). */
  at: string;
  /** Fen: the coupon amount used, or the refund amount. */
  amount: number;
  refundId?: string;
  /** The campaign that issued the coupon, when the service issued it. */
  campaignId?: string;
}

/** A stock this service issued coupons of, waiting for its flow files to be reconciled. */
export interface PendingStock {
  stockId: string;
  /** Epoch ms, once read from WeChat's stock query. */
  availableEndTime?: number;
  /** Epoch ms before which the job does not ask WeChat about this stock again. */
  nextCheckAt?: number;
}

export interface ReconciliationStore {
  /** Creates the run (RUNNING, phase `use`, offset 0); the same id again → `changed: false` and the stored run. */
  create(run: ReconciliationRecord): Promise<StateChange<ReconciliationRecord>>;
  get(id: string): Promise<ReconciliationRecord | undefined>;
  /** RUNNING runs, oldest first (at most `limit`). */
  listRunning(limit: number): Promise<ReconciliationRecord[]>;
  /** Takes the run for one invocation (RUNNING and no live lease); undefined when another holds it or it ended. */
  lease(id: string, now: number, until: number): Promise<ReconciliationRecord | undefined>;
  /**
   * Moves the checkpoint from `from` to `to` and adds `counts`, in one write fenced on the lease and on `from` (so a
   * segment is counted once). False when the lease was lost.
   */
  checkpoint(
    id: string,
    lease: number,
    from: ReconciliationPosition,
    to: ReconciliationPosition,
    counts: Partial<ReconciliationCounts>,
    now: number,
  ): Promise<boolean>;
  /** An invocation stopped at a checkpoint: the lease ends now, so the next invocation resumes at once. */
  release(id: string, lease: number, now: number): Promise<void>;
  /** COMPLETED (or FAILED with the error): leaves the running list. Fenced on the lease. */
  finish(id: string, lease: number, status: "COMPLETED" | "FAILED", now: number, error?: ErrorInfo): Promise<boolean>;
  /**
   * An invocation's error: counted, kept as `lastError`; the lease becomes `now` (released for the next invocation,
   * and the fence a following `finish(id, now, "FAILED")` gives).
   */
  recordFailure(id: string, lease: number, error: ErrorInfo, now: number): Promise<ReconciliationRecord | undefined>;
  /** Idempotent: a finding is keyed by run, flow, coupon and transaction (a row read again writes the same item). */
  putFindings(runId: string, findings: readonly ReconciliationFinding[]): Promise<void>;
  /** A run's findings, by kind then coupon; cursor opaque. */
  listFindings(runId: string, options: { limit: number; cursor?: string }): Promise<ListPage<ReconciliationFinding>>;
  /** Stocks with issued coupons that no scheduled run has reconciled yet (at most `limit`). */
  pendingStocks(limit: number): Promise<PendingStock[]>;
  /** Stores what the job learnt about a pending stock. */
  updatePendingStock(stockId: string, patch: { availableEndTime?: number; nextCheckAt?: number }): Promise<void>;
  /** The stock's scheduled run exists: it leaves the pending list. */
  markStockReconciled(stockId: string, runId: string, now: number): Promise<void>;
}
