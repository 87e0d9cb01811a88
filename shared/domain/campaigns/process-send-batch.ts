import { CallWithheldError, ConflictError, MessageFormatError, NotFoundError, ValidationError } from "../errors.js";
import { CALL_DEFERRED } from "../keyed-call.js";
import type { SendMessage } from "../ports.js";
import { merchantScope, type RateGovernor } from "../rate/rate-governor.js";
import { type SendDependencies, type SendOutcome, sendCoupon } from "../sends/send-coupon.js";
import { BatchOutcomeCounter } from "./batch-outcome-counter.js";
import { CampaignGates, type SendGate } from "./campaign-gates.js";
import { reconcileCampaign } from "./reconcile-campaign.js";
import { parseSendMessage } from "./send-message.js";
import { withdrawSend } from "./withdraw-send.js";

export interface QueuedSend {
  messageId: string;
  body: string;
  /** SQS ApproximateReceiveCount (1 on first delivery). */
  receiveCount: number;
}

export interface BatchFailure {
  messageId: string;
  /** Visibility delay before the message is tried again (per-message back-off). */
  delaySeconds: number;
  reason: string;
}

/**
 * A message to hand back as a fresh copy (same body, `recycled` + 1) rather than as a batch failure: it is on its
 * last receive before the queue's redrive would move it to the DLQ, but nothing is wrong with it (rate wait, a lease
 * held elsewhere, the store or WeChat briefly failing). The DLQ is for what a human must look at.
 */
export interface RecycledSend {
  messageId: string;
  message: SendMessage;
  delaySeconds: number;
  reason: string;
}

/**
 * A message of a paused or scheduled campaign, handed back unsent: made invisible for `delaySeconds` (0–43200), or,
 * once it has been received `HOLD_COPY_AFTER_RECEIVES` times, re-enqueued as a fresh copy (`asCopy`, `held` + 1,
 * `recycled` unchanged) so that a long pause or a far schedule uses neither the receive budget before the DLQ nor
 * the queue's retention. A hold is the operator's decision, not trouble: it never counts as a recycle.
 */
export interface HeldSend {
  messageId: string;
  message: SendMessage;
  delaySeconds: number;
  asCopy: boolean;
  /** `stock_not_started`: WeChat refused the send before its stock's begin time; it comes back then. */
  reason: "paused" | "scheduled" | "stock_not_started";
}

export interface PoisonMessage {
  messageId: string;
  body: string;
  reason: string;
}

export interface WorkerDependencies extends SendDependencies {
  governor: RateGovernor;
  /** Ceiling for a campaign without its own rate, and for every campaign (WeChat allows 500/s per merchant). */
  defaultRatePerSecond: number;
  /** How long a batch may wait for rate tokens before handing messages back to the queue. */
  maxRateWaitMs: number;
  /** The send queue's redrive `maxReceiveCount`: a message failed on that receive goes to the DLQ. */
  maxReceiveCount: number;
  /**
   * How old the batch's read of a campaign's control may be when one of its sends starts (default
   * `CONTROL_FRESH_MS`); the pause and cancel routes wait longer than this before answering.
   */
  controlFreshMs?: number;
  /** Hold of a paused campaign's message: `min` s on its first receive, doubling per receive, at most `max` s. */
  pausedHoldSeconds?: { min: number; max: number };
  /** Longest hold of a scheduled campaign's message (default `SCHEDULED_HOLD_MAX_SECONDS`). */
  scheduledHoldMaxSeconds?: number;
}

/**
 * A scheduled campaign's messages come back at least hourly until start_at: a cancel (or pause) of a campaign
 * scheduled far ahead is then carried out, and the cancelled campaign completes, within the hour, at the cost of 24
 * receives per message and day of waiting.
 */
export const SCHEDULED_HOLD_MAX_SECONDS = 3_600;

/** Default hold of a paused campaign's messages: resume takes effect within `max` s; a long pause costs few receives. */
export const PAUSED_HOLD_SECONDS = { min: 5, max: 300 } as const;
/** Receives of one copy after which a held message goes back as a fresh copy (receive budget, retention). */
export const HOLD_COPY_AFTER_RECEIVES = 3;
/** SQS's longest delay for a new message (DelaySeconds). */
const MAX_COPY_DELAY_SECONDS = 900;
/** SQS's longest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** Copies of one send a worker may make before letting it reach the DLQ after all (a loop breaker). */
export const MAX_RECYCLES = 20;

export interface BatchResult {
  failures: BatchFailure[];
  recycled: RecycledSend[];
  held: HeldSend[];
  /** Sends of cancelled campaigns recorded CANCELLED by this batch (never sent). */
  cancelled: SendMessage[];
  poison: PoisonMessage[];
  outcomes: { message: SendMessage; outcome: SendOutcome }[];
}

/**
 * Processes one SQS batch of sends: poison messages are set aside with their reason; the rest take rate tokens for
 * their campaign, then run in parallel across users but one at a time per openid (WeChat answers spurious RULE_LIMIT
 * to concurrent sends to one user). Every outcome is recorded in the ledger by `sendCoupon`; the campaign counters
 * take the batch's outcomes in one update per campaign.
 *
 * The operator's control comes first: each campaign of the batch is read once (strongly consistent) before any rate
 * token is taken, and again, once the send's lease is held and right before WeChat is called, if that read was issued
 * `controlFreshMs` or more earlier (`CampaignGates.gateNow`). Messages of a paused
 * or scheduled campaign are held (never sent, no token taken); those of a cancelled one are recorded CANCELLED.
 */
export async function processSendBatch(batchDeps: WorkerDependencies, batch: QueuedSend[]): Promise<BatchResult> {
  // The batch's refusals of one stock that stopped serving ask WeChat for it once.
  const deps: WorkerDependencies = { ...batchDeps, stockReads: new Map() };
  const result: BatchResult = { failures: [], recycled: [], held: [], cancelled: [], poison: [], outcomes: [] };
  const valid: { item: QueuedSend; message: SendMessage }[] = [];
  for (const item of batch) {
    try {
      valid.push({ item, message: parseSendMessage(item.body) });
    } catch (error) {
      if (!(error instanceof MessageFormatError)) throw error;
      result.poison.push({ messageId: item.messageId, body: item.body, reason: error.message });
    }
  }
  const gates = new CampaignGates(deps.campaigns, deps.clock, deps.controlFreshMs);
  // One counter update per campaign for the whole batch, rather than one per send.
  const counter = new BatchOutcomeCounter(deps.campaigns, deps.clock);
  const sendable: Entry[] = [];
  const withdrawing: Entry[] = [];
  for (const entry of valid) {
    const gate = await gateOf(deps, gates, entry, result);
    if (gate === undefined) continue;
    if (gate.action === "send") sendable.push(entry);
    else if (gate.action === "cancel") withdrawing.push(entry);
    else hold(deps, result, entry, gate);
  }
  // One lane per openid across the whole batch: sends to one user run one at a time, whichever campaign they are of.
  const lanes = new Map<string, Promise<void>>();
  const send = (admitted: Entry[]) =>
    Promise.all(
      [...groupByOpenid(admitted).entries()].map(([openid, group]) => {
        const lane = (lanes.get(openid) ?? Promise.resolve()).then(() =>
          runSequentially(deps, gates, counter, group, result),
        );
        lanes.set(openid, lane);
        return lane;
      }),
    ).then(() => undefined);
  await Promise.all([
    admitByRate(deps, gates, sendable, send),
    ...withdrawing.map((entry) => withdraw(deps, counter, entry, result)),
  ]);
  await reconcileCancelled(deps, gates);
  return result;
}

/** `tokens`: where the send takes its rate token, with its lease held (`admitByRate`); none for a withdrawn send. */
type Entry = { item: QueuedSend; message: SendMessage; tokens?: RateTokens };

/** The entry's campaign gate; undefined when the store failed (the message retries on its own back-off). */
async function gateOf(
  deps: WorkerDependencies,
  gates: CampaignGates,
  entry: Entry,
  result: BatchResult,
): Promise<SendGate | undefined> {
  if (entry.message.campaignId === undefined) return { action: "send" };
  try {
    return await gates.gate(entry.message.campaignId);
  } catch {
    retryLater(deps, result, entry, storeBackoff(entry), "STORE_ERROR");
    return undefined;
  }
}

function hold(
  deps: WorkerDependencies,
  result: BatchResult,
  { item, message }: Entry,
  gate: { untilMs: number | undefined; reason: HeldSend["reason"] },
): void {
  const asCopy = item.receiveCount >= Math.min(HOLD_COPY_AFTER_RECEIVES, deps.maxReceiveCount - 1);
  let delaySeconds: number;
  if (gate.untilMs !== undefined) {
    delaySeconds = Math.min(
      deps.scheduledHoldMaxSeconds ?? SCHEDULED_HOLD_MAX_SECONDS,
      Math.max(1, Math.ceil((gate.untilMs - deps.clock()) / 1000)),
    );
  } else {
    const { min, max } = deps.pausedHoldSeconds ?? PAUSED_HOLD_SECONDS;
    // Later copies keep growing the hold: `held` copies so far, each after HOLD_COPY_AFTER_RECEIVES receives.
    const holds = (message.held ?? 0) * HOLD_COPY_AFTER_RECEIVES + item.receiveCount - 1;
    delaySeconds = Math.min(max, min * 2 ** Math.min(holds, 20));
  }
  delaySeconds = Math.min(delaySeconds, asCopy ? MAX_COPY_DELAY_SECONDS : MAX_VISIBILITY_SECONDS);
  result.held.push({ messageId: item.messageId, message, delaySeconds, asCopy, reason: gate.reason });
}

/** Records a cancelled campaign's send CANCELLED, or finishes it if a call of it may have reached WeChat. */
async function withdraw(
  deps: WorkerDependencies,
  counter: BatchOutcomeCounter,
  entry: Entry,
  result: BatchResult,
): Promise<void> {
  let withdrawn: boolean;
  try {
    withdrawn = await withdrawSend(deps, counter, entry.message);
  } catch {
    retryLater(deps, result, entry, storeBackoff(entry), "STORE_ERROR");
    return;
  }
  if (withdrawn) result.cancelled.push(entry.message);
  // A send that may have reached WeChat (withdrawSend): finish it under its key, so the ledger says what WeChat did.
  else await runSequentially(deps, undefined, counter, [entry], result);
}

/**
 * A cancelled campaign's last outcome may be a cancellation (the send path recounts only when sent + failed reach
 * the total): recount the cancelled campaigns of the batch once their counters claim completion.
 */
async function reconcileCancelled(deps: WorkerDependencies, gates: CampaignGates): Promise<void> {
  const reconcile =
    deps.reconcile ??
    ((id: string) => reconcileCampaign({ campaigns: deps.campaigns, ledger: deps.ledger, clock: deps.clock }, id));
  await Promise.all(gates.cancelledCampaigns().map((id) => Promise.resolve(reconcile(id)).catch(() => undefined)));
}

/** Every send of a merchant takes from one budget: WeChat limits sends per merchant, not per campaign. */
function scopeOf(message: SendMessage): string {
  return merchantScope(message.mchid);
}

/** A queued send outside any campaign is paced with the campaigns, under this name. */
const QUEUED_WITHOUT_CAMPAIGN = "-";

/**
 * Starts the batch's sends, each taking its rate token from its campaign's `RateTokens` (its fair share of the
 * merchant's budget, capped by its own rate) once it holds its lease, right before its call; what does not get a
 * token in time goes back to the queue (`RATE_WAIT`). The shared counter keeps each campaign's asked and granted
 * tokens per second, which is how its status tells it is waiting for rate.
 */
async function admitByRate(
  deps: WorkerDependencies,
  gates: CampaignGates,
  items: { item: QueuedSend; message: SendMessage }[],
  send: (admitted: Entry[]) => Promise<void>,
): Promise<void> {
  const takers = new Map<string, RateTokens>();
  const entries = items.map((entry) => {
    const key = `${scopeOf(entry.message)}|${entry.message.campaignId ?? QUEUED_WITHOUT_CAMPAIGN}`;
    const tokens = takers.get(key) ?? new RateTokens(deps, gates, entry.message);
    takers.set(key, tokens);
    return { ...entry, tokens };
  });
  await send(entries);
}

/**
 * The rate tokens of one campaign's sends in a batch. A send asks for its token once it holds the ledger's lease,
 * right before its call (`beforeCall`), and calls as soon as it has it: nothing but the call's own preparation lies
 * between the grant and the request. (Tokens used to be taken first and the lease after: on a loaded machine taking
 * the lease often outlasted the token's second, and the token was lost, or the send waited for one of the next
 * second or went back to the queue; the rate bench lost up to a tenth of some seconds so, test/bench/rate.ts.) The
 * waiting sends of a campaign share one acquisition (`RateGovernor.acquire`, one counter update per slot for all of
 * them), which hands each grant to the sends waiting longest and counts in the sends that join. A send waits at most
 * `maxRateWaitMs` from the batch's start, and at most a quarter of its lease (the call and its retries keep the rest);
 * the wait ends early for a campaign a send found paused or cancelled meanwhile (the rest are held or withdrawn when
 * they come back).
 */
class RateTokens {
  readonly #waiting: { resolve: (second: number | undefined) => void; reject: (error: unknown) => void }[] = [];
  readonly #deadline: number;
  #acquiring = false;

  constructor(
    private readonly deps: WorkerDependencies,
    private readonly gates: CampaignGates,
    private readonly message: SendMessage,
  ) {
    this.#deadline = deps.clock() + Math.min(deps.maxRateWaitMs, deps.leaseMs / 4);
  }

  /** The epoch second of the send's token, or undefined when none came in time. */
  take(): Promise<number | undefined> {
    if (this.#stopped()) return Promise.resolve(undefined);
    const token = new Promise<number | undefined>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    if (!this.#acquiring) void this.#acquire();
    return token;
  }

  #stopped(): boolean {
    const { campaignId } = this.message;
    return campaignId !== undefined && this.gates.stopped(campaignId);
  }

  async #acquire(): Promise<void> {
    this.#acquiring = true;
    try {
      const maxWaitMs = Math.max(0, this.#deadline - this.deps.clock());
      await acquireFor(
        this.deps,
        this.message,
        () => this.#waiting.length,
        maxWaitMs,
        (granted, second) => {
          for (const waiting of this.#waiting.splice(0, granted)) waiting.resolve(second);
          return !this.#stopped();
        },
      );
      for (const waiting of this.#waiting.splice(0)) waiting.resolve(undefined);
    } catch (error) {
      // The rate counter's store failed: each send retries on its own back-off, like any other store error.
      for (const waiting of this.#waiting.splice(0)) waiting.reject(error);
    } finally {
      this.#acquiring = false;
    }
  }
}

/**
 * Tokens for sends of `message`'s campaign, from the merchant's budget, waiting at most `maxWaitMs`; with `use`, each
 * grant is handed to it as it comes (RateGovernor.acquire).
 */
function acquireFor(
  deps: WorkerDependencies,
  message: SendMessage,
  tokens: number | (() => number),
  maxWaitMs: number,
  use?: (granted: number, second: number) => boolean,
) {
  const ceiling = deps.defaultRatePerSecond;
  const taker = {
    campaignId: message.campaignId ?? QUEUED_WITHOUT_CAMPAIGN,
    ratePerSecond: Math.min(message.ratePerSecond ?? ceiling, ceiling),
  };
  return deps.governor.acquire(scopeOf(message), taker, tokens, ceiling, maxWaitMs, use);
}

function groupByOpenid<T extends { message: SendMessage }>(entries: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const entry of entries) groups.set(entry.message.openid, [...(groups.get(entry.message.openid) ?? []), entry]);
  return groups;
}

async function runSequentially(
  deps: WorkerDependencies,
  gates: CampaignGates | undefined,
  counter: BatchOutcomeCounter,
  group: Entry[],
  result: BatchResult,
): Promise<void> {
  for (const entry of group) {
    const { item, message } = entry;
    // The last look at the operator's control before the send starts: re-read if the batch's read has aged.
    if (gates !== undefined) {
      const gate = await gateOf(deps, gates, entry, result);
      if (gate === undefined) continue;
      if (gate.action === "hold") {
        hold(deps, result, entry, gate);
        continue;
      }
      if (gate.action === "cancel") {
        await withdraw(deps, counter, entry, result);
        continue;
      }
    }
    // The rate token, taken with the lease held right before the call (`RateTokens`); none in time: no call, the
    // lease is released uncounted and the send goes back to the queue (CALL_DEFERRED).
    let tokenSecond: number | undefined;
    const { tokens } = entry;
    const beforeCall =
      tokens === undefined
        ? undefined
        : async () => {
            tokenSecond = await tokens.take();
            return tokenSecond !== undefined;
          };
    let outcome: SendOutcome;
    try {
      // Without gates the campaign was cancelled (`withdraw`): a refusal for the stock or the merchant is then final.
      const command = { ...message, stockCreatorMchid: message.mchid, holdsFinal: gates === undefined };
      // The hard fence: the lease write, the wait for a rate token or loading credentials before the request may have taken
      // any time, so the gate is checked again, on a read fresh enough, right before the request (a read that fails
      // withholds the send: `afterWithheld` reads again).
      const campaignId = message.campaignId;
      const beforeRequest =
        gates === undefined || campaignId === undefined
          ? undefined
          : async () => (await gates.gateNow(campaignId).catch(() => undefined))?.action === "send";
      outcome = await counter.track((countOutcome) =>
        sendCoupon(
          { ...deps, countOutcome, ...(beforeRequest === undefined ? {} : { beforeRequest }) },
          command,
          beforeCall === undefined ? {} : { beforeCall },
        ),
      );
    } catch (error) {
      if (error instanceof CallWithheldError && gates !== undefined) {
        await afterWithheld(deps, gates, counter, entry, result);
        continue;
      }
      // One message's trouble is its own: the others in the batch keep their outcomes. A key used for another
      // request, or a send with no prepared record, cannot succeed later (poison); anything else thrown here is the
      // store failing, so try again.
      if (error instanceof ConflictError || error instanceof ValidationError || error instanceof NotFoundError) {
        result.poison.push({ messageId: item.messageId, body: item.body, reason: `${error.code}: ${error.message}` });
      } else {
        retryLater(deps, result, entry, storeBackoff(entry), "STORE_ERROR");
      }
      continue;
    }
    result.outcomes.push({ message, outcome });
    if (outcome.status === "RETRY" && outcome.code === CALL_DEFERRED) {
      retryLater(deps, result, entry, 1, "RATE_WAIT");
    } else if (outcome.status === "RETRY" && outcome.hold) {
      await holdCampaign(deps, gates, entry, outcome.hold, outcome.code, result);
    } else if (outcome.status === "RETRY") {
      if (outcome.rateLimited) deps.governor.onRateLimited(scopeOf(message), deps.defaultRatePerSecond, tokenSecond);
      const delay = backoffSeconds(item.receiveCount, outcome.rateLimited ? "rate-limited" : "wechat");
      // Keys or signatures an operator must fix: let the redrive take it to the DLQ, where the alarm is.
      if (outcome.needsOperator)
        result.failures.push({ messageId: item.messageId, delaySeconds: delay, reason: outcome.code });
      else retryLater(deps, result, entry, delay, outcome.code);
    } else if (outcome.status === "IN_PROGRESS") {
      retryLater(deps, result, entry, Math.ceil(outcome.retryAfterMs / 1000), "IN_PROGRESS");
    }
  }
}

/**
 * A send withheld right before its request (`gateNow`): held or withdrawn as the fresh read says, or tried again shortly
 * when no read fresh enough could be had (the store answering slowly).
 */
async function afterWithheld(
  deps: WorkerDependencies,
  gates: CampaignGates,
  counter: BatchOutcomeCounter,
  entry: Entry,
  result: BatchResult,
): Promise<void> {
  const gate = await gateOf(deps, gates, entry, result);
  if (gate === undefined) return;
  if (gate.action === "hold") hold(deps, result, entry, gate);
  else if (gate.action === "cancel") await withdraw(deps, counter, entry, result);
  else retryLater(deps, result, entry, 1, "CONTROL_READ_SLOW");
}

/**
 * WeChat refused the send for its stock (shared/domain/stocks/stock-check.ts) or its merchant
 * (shared/domain/sends/failure-policy.ts), so nothing is recorded final: before the stock's begin time the message
 * waits for it; otherwise the campaign is paused with the reason (its other messages are then held like any paused
 * campaign's; resume checks the stock again, and the first send after it meets the merchant's refusal again if an
 * operator has not lifted it) and this one is held with them.
 */
async function holdCampaign(
  deps: WorkerDependencies,
  gates: CampaignGates | undefined,
  entry: Entry,
  { reason, untilMs }: NonNullable<Extract<SendOutcome, { status: "RETRY" }>["hold"]>,
  code: string,
  result: BatchResult,
): Promise<void> {
  const { campaignId } = entry.message;
  if (reason === "stock_not_started") {
    hold(deps, result, entry, { untilMs: untilMs ?? deps.clock(), reason });
    return;
  }
  if (campaignId === undefined) {
    retryLater(deps, result, entry, backoffSeconds(entry.item.receiveCount, "wechat"), code);
    return;
  }
  try {
    // Only a running campaign: an operator's pause or cancel written meanwhile stands.
    await deps.campaigns.setControl(campaignId, { from: ["RUNNING"], to: "PAUSED", reason }, deps.clock());
  } catch {
    retryLater(deps, result, entry, storeBackoff(entry), "STORE_ERROR");
    return;
  }
  gates?.forget(campaignId);
  hold(deps, result, entry, { untilMs: undefined, reason: "paused" });
}

/** A retry the message is not to blame for: on its last receive before the DLQ, it goes back as a fresh copy. */
function retryLater(
  deps: WorkerDependencies,
  result: BatchResult,
  { item, message }: { item: QueuedSend; message: SendMessage },
  delaySeconds: number,
  reason: string,
): void {
  const lastReceive = item.receiveCount >= deps.maxReceiveCount - 1;
  if (lastReceive && (message.recycled ?? 0) < MAX_RECYCLES) {
    result.recycled.push({ messageId: item.messageId, message, delaySeconds, reason });
  } else {
    result.failures.push({ messageId: item.messageId, delaySeconds, reason });
  }
}

/** What a retry waits for: WeChat failing, WeChat's rate limit, or the store failing. */
export type RetryCause = "wechat" | "rate-limited" | "store";

const WECHAT_BACKOFF_CAP_SECONDS = 300;
const STORE_BACKOFF_CAP_SECONDS = 30;

/**
 * Full-jitter exponential back-off: 1, 2, 4 … s, capped at 5 min after WeChat failed. After a 429 a short 2–4 s
 * instead: the governor has already cut the campaign's rate, which is what spaces the retries; growing the wait as well
 * would only stall sends that were merely unlucky. After a store error at most 30 s on a message's first copy: what
 * reaches here has outlived the SDK's own retries (or its retry quota), such errors clear in seconds, and the receive
 * count also counts receives that had nothing to do with the store (rate waits, leases held), so a 5-min cap made an
 * unlucky send wait minutes under a failing store (seen in the reliability suite). Each re-enqueued copy (`recycled`)
 * doubles that cap up to 5 min, so a long outage still takes hours, not minutes, to push sends into the DLQ.
 */
export function backoffSeconds(receiveCount: number, cause: RetryCause, recycled = 0): number {
  if (cause === "rate-limited") return 2 + Math.floor(Math.random() * 3);
  const cap =
    cause === "store"
      ? Math.min(WECHAT_BACKOFF_CAP_SECONDS, STORE_BACKOFF_CAP_SECONDS * 2 ** recycled)
      : WECHAT_BACKOFF_CAP_SECONDS;
  const ceiling = Math.min(cap, 2 ** Math.max(0, receiveCount - 1));
  return Math.ceil(Math.random() * ceiling);
}

function storeBackoff({ item, message }: { item: QueuedSend; message: SendMessage }): number {
  return backoffSeconds(item.receiveCount, "store", message.recycled ?? 0);
}
