import { MessageFormatError } from "../errors.js";
import type { SendMessage } from "../ports.js";
import type { RateGovernor } from "../rate/rate-governor.js";
import { type SendDependencies, type SendOutcome, sendCoupon } from "../sends/send-coupon.js";
import { parseSendMessage } from "./send-message.js";

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
}

export interface BatchResult {
  failures: BatchFailure[];
  poison: PoisonMessage[];
  outcomes: { message: SendMessage; outcome: SendOutcome }[];
}

/**
 * Processes one SQS batch of sends: poison messages are set aside with their reason; the rest take rate tokens for
 * their campaign, then run in parallel across users but one at a time per openid (WeChat answers spurious RULE_LIMIT
 * to concurrent sends to one user). Every outcome is recorded in the ledger by `sendCoupon`.
 */
export async function processSendBatch(deps: WorkerDependencies, batch: QueuedSend[]): Promise<BatchResult> {
  const result: BatchResult = { failures: [], poison: [], outcomes: [] };
  const valid: { item: QueuedSend; message: SendMessage }[] = [];
  for (const item of batch) {
    try {
      valid.push({ item, message: parseSendMessage(item.body) });
    } catch (error) {
      if (!(error instanceof MessageFormatError)) throw error;
      result.poison.push({ messageId: item.messageId, body: item.body, reason: error.message });
    }
  }
  const admitted = await admitByRate(deps, valid, result);
  await Promise.all([...groupByOpenid(admitted).values()].map((group) => runSequentially(deps, group, result)));
  return result;
}

function scopeOf(message: SendMessage): string {
  return message.campaignId ? `campaign:${message.campaignId}` : `merchant:${message.mchid}`;
}

async function admitByRate(
  deps: WorkerDependencies,
  items: { item: QueuedSend; message: SendMessage }[],
  result: BatchResult,
): Promise<{ item: QueuedSend; message: SendMessage }[]> {
  const byScope = new Map<string, { item: QueuedSend; message: SendMessage }[]>();
  for (const entry of items)
    byScope.set(scopeOf(entry.message), [...(byScope.get(scopeOf(entry.message)) ?? []), entry]);
  const admitted: { item: QueuedSend; message: SendMessage }[] = [];
  for (const [scope, entries] of byScope) {
    const rate = Math.min(entries[0]!.message.ratePerSecond ?? deps.defaultRatePerSecond, deps.defaultRatePerSecond);
    const granted = await deps.governor.acquire(scope, entries.length, rate, deps.maxRateWaitMs);
    admitted.push(...entries.slice(0, granted));
    for (const { item } of entries.slice(granted)) {
      result.failures.push({ messageId: item.messageId, delaySeconds: 1, reason: "RATE_WAIT" });
    }
  }
  return admitted;
}

function groupByOpenid<T extends { message: SendMessage }>(entries: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const entry of entries) groups.set(entry.message.openid, [...(groups.get(entry.message.openid) ?? []), entry]);
  return groups;
}

async function runSequentially(
  deps: WorkerDependencies,
  group: { item: QueuedSend; message: SendMessage }[],
  result: BatchResult,
): Promise<void> {
  for (const { item, message } of group) {
    const outcome = await sendCoupon(deps, { ...message, stockCreatorMchid: message.mchid });
    result.outcomes.push({ message, outcome });
    if (outcome.status === "RETRY") {
      if (outcome.rateLimited) deps.governor.onRateLimited(scopeOf(message));
      result.failures.push({
        messageId: item.messageId,
        delaySeconds: backoffSeconds(item.receiveCount, outcome.rateLimited),
        reason: outcome.code,
      });
    } else if (outcome.status === "IN_PROGRESS") {
      result.failures.push({
        messageId: item.messageId,
        delaySeconds: Math.ceil(outcome.retryAfterMs / 1000),
        reason: "IN_PROGRESS",
      });
    }
  }
}

/** Full-jitter exponential back-off: 1, 2, 4 … s capped at 5 min; at least 2 s after a 429. */
export function backoffSeconds(receiveCount: number, rateLimited: boolean): number {
  const ceiling = Math.min(300, 2 ** Math.max(0, receiveCount - 1));
  const jittered = Math.ceil(Math.random() * ceiling);
  return rateLimited ? Math.max(2, jittered) : jittered;
}
