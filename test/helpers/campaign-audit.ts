import { setTimeout as sleep } from "node:timers/promises";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { createDocumentClient } from "#shared/adapters/dynamodb/document-client.js";
import { DynamoDbSendLedger } from "#shared/adapters/dynamodb/dynamodb-send-ledger.js";
import { recipientOutRequestNo } from "#shared/domain/campaigns/campaign-keys.js";
import type { SendRecord } from "#shared/domain/ports.js";
import { callApi } from "./local-stack-client.js";
import { queueDepth } from "./queue-depth.js";

export interface CampaignView {
  campaign_id: string;
  state: string;
  total: number;
  sent: number;
  failed: number;
  pending: number;
  failures_by_code: Record<string, number>;
}

/**
 * Polls `GET /campaigns/{id}` until COMPLETED or the deadline; returns the last view either way. Gives up early when
 * the send queue has been empty (nothing waiting, nothing in flight) for `idleMs` without completion: nothing can
 * move the campaign any more.
 */
export async function waitForCampaign(
  stack: LocalStack,
  campaignId: string,
  timeoutMs: number,
  idleMs = 15_000,
): Promise<CampaignView> {
  const deadline = Date.now() + timeoutMs;
  let view: CampaignView | undefined;
  let idleSince: number | undefined;
  while (Date.now() < deadline) {
    const response = await callApi<CampaignView>(stack, "GET", `/campaigns/${campaignId}`).catch(() => undefined);
    if (response?.status === 200) {
      view = response.body;
      if (view.state === "COMPLETED") return view;
    }
    const { queue } = await sendQueueDepths(stack);
    idleSince = queue > 0 ? undefined : (idleSince ?? Date.now());
    if (view && idleSince !== undefined && Date.now() - idleSince > idleMs) return view;
    await sleep(250);
  }
  if (!view) throw new Error(`campaign ${campaignId} never answered`);
  return view;
}

/** Reads the send records of a campaign straight from the DynamoDB stand-in (never through a fault proxy). */
export async function campaignRecords(stack: LocalStack, campaignId: string): Promise<SendRecord[]> {
  const { endpoints, env } = stack.emulators;
  const doc = createDocumentClient({
    endpoint: endpoints.dynamodb,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  try {
    const ledger = new DynamoDbSendLedger({ doc, tableName: env.TABLE_NAME });
    const records: SendRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await ledger.listByCampaign(campaignId, { limit: 1_000, ...(cursor ? { cursor } : {}) });
      records.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return records;
  } finally {
    doc.destroy();
  }
}

/**
 * Every way a campaign's outcome can disagree with WeChat's ledger. All numbers are 0 for a healthy campaign except
 * `sent`, `failed`, `coupons`.
 */
export interface CampaignAudit {
  view: CampaignView;
  /** Coupons WeChat issued for this campaign's recipients (its out_request_nos). */
  coupons: number;
  /** Extra coupons for one recipient key. */
  duplicates: number;
  /** Recipients without a send record, or still PENDING. */
  unfinished: number;
  /** FAILED records without an error code. */
  failedWithoutReason: number;
  /** SENT records whose coupon is not the one WeChat has under that key (or WeChat has none). */
  sentWithoutCoupon: number;
  /** FAILED records for which WeChat did issue a coupon. */
  failedWithCoupon: number;
  /** The campaign's counters minus the ledger: sent − coupons, failed − (total − coupons). */
  sentCounterDrift: number;
  failedCounterDrift: number;
  /** failures_by_code does not add up to failed. */
  failureCodesDrift: number;
  /** Human-readable first few problems. */
  problems: string[];
}

/** Messages in any state (waiting, delayed, in flight) on the send queue and its DLQ. */
export async function sendQueueDepths(stack: LocalStack): Promise<{ queue: number; deadLetters: number }> {
  const { sqs, env } = stack.emulators;
  return { queue: await queueDepth(sqs, env.SEND_QUEUE_URL), deadLetters: await queueDepth(sqs, env.SEND_DLQ_URL) };
}

/** The out_request_nos of the send messages in the DLQ (peeked: they become visible again at once). */
async function deadLetteredKeys(stack: LocalStack): Promise<Set<string>> {
  const keys = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { Messages = [] } = await stack.emulators.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.emulators.env.SEND_DLQ_URL,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 2,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) break;
    for (const m of Messages) {
      try {
        keys.add(String(JSON.parse(m.Body ?? "{}").outRequestNo));
      } catch {}
    }
  }
  return keys;
}

export async function auditCampaign(stack: LocalStack, view: CampaignView, openids: string[]): Promise<CampaignAudit> {
  const keyOf = new Map(openids.map((o) => [recipientOutRequestNo(view.campaign_id, o, 0), o]));
  const issued = new Map<string, string[]>();
  for (const row of stack.simulator.ledger()) {
    if (!keyOf.has(row.out_request_no)) continue;
    issued.set(row.out_request_no, [...(issued.get(row.out_request_no) ?? []), row.coupon_id]);
  }
  const records = new Map((await campaignRecords(stack, view.campaign_id)).map((r) => [r.outRequestNo, r]));
  const depths = await sendQueueDepths(stack);
  const dead = depths.deadLetters > 0 ? await deadLetteredKeys(stack) : new Set<string>();
  const problems: string[] = [];
  const note = (problem: string) => {
    if (problems.length < 10) problems.push(problem);
  };
  let duplicates = 0;
  let unfinished = 0;
  let failedWithoutReason = 0;
  let sentWithoutCoupon = 0;
  let failedWithCoupon = 0;
  for (const [key, openid] of keyOf) {
    const coupons = issued.get(key) ?? [];
    if (coupons.length > 1) {
      duplicates += coupons.length - 1;
      note(`${openid}: ${coupons.length} coupons under ${key}`);
    }
    const record = records.get(key);
    if (!record || record.state === "PENDING") {
      unfinished++;
      note(
        `${openid}: ${record ? `PENDING (${record.errorCode ?? "no error"}, ${record.attempts} attempts)` : "no send record"}${dead.has(key) ? ", its message is in the send DLQ" : ""}`,
      );
    } else if (record.state === "FAILED") {
      if (!record.errorCode) {
        failedWithoutReason++;
        note(`${openid}: FAILED without a code`);
      }
      if (coupons.length > 0) {
        failedWithCoupon++;
        note(`${openid}: FAILED (${record.errorCode}) but WeChat issued ${coupons[0]}`);
      }
    } else if (!record.couponId || !coupons.includes(record.couponId)) {
      sentWithoutCoupon++;
      note(`${openid}: SENT ${record.couponId} but WeChat has ${coupons.join(",") || "none"}`);
    }
  }
  const coupons = [...issued.keys()].length;
  if (unfinished > 0) note(`send queue: ${depths.queue} messages, send DLQ: ${depths.deadLetters}`);
  const codes = Object.values(view.failures_by_code ?? {}).reduce((a, b) => a + b, 0);
  return {
    view,
    coupons,
    duplicates,
    unfinished,
    failedWithoutReason,
    sentWithoutCoupon,
    failedWithCoupon,
    sentCounterDrift: view.sent - coupons,
    failedCounterDrift: view.failed - (view.total - coupons),
    failureCodesDrift: codes - view.failed,
    problems,
  };
}

/** The audit's numbers that must all be zero, for one readable assertion. */
export function auditFaults(audit: CampaignAudit) {
  return {
    state: audit.view.state,
    pending: audit.view.pending,
    duplicates: audit.duplicates,
    unfinished: audit.unfinished,
    failedWithoutReason: audit.failedWithoutReason,
    sentWithoutCoupon: audit.sentWithoutCoupon,
    failedWithCoupon: audit.failedWithCoupon,
    sentCounterDrift: audit.sentCounterDrift,
    failedCounterDrift: audit.failedCounterDrift,
    failureCodesDrift: audit.failureCodesDrift,
  };
}

export const HEALTHY_AUDIT = {
  state: "COMPLETED",
  pending: 0,
  duplicates: 0,
  unfinished: 0,
  failedWithoutReason: 0,
  sentWithoutCoupon: 0,
  failedWithCoupon: 0,
  sentCounterDrift: 0,
  failedCounterDrift: 0,
  failureCodesDrift: 0,
} as const;
