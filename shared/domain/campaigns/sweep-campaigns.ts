import { certainlyNotIssued } from "../keyed-call.js";
import type {
  CampaignCounts,
  CampaignRecord,
  CampaignStore,
  CampaignSweep,
  Clock,
  SendLedger,
  SendMessage,
  SendQueue,
  SweepPass,
} from "../ports.js";
import { sendGate } from "./campaign-lifecycle.js";
import { messageOfRecord, recipientRecord } from "./campaign-recipients.js";
import { outcomeTally } from "./outcome-tally.js";
import { countFinal } from "./reconcile-campaign.js";

export interface SweeperDependencies {
  campaigns: CampaignStore;
  ledger: SendLedger;
  queue: SendQueue;
  clock: Clock;
}

export interface SweepSettings {
  /**
   * A campaign whose counters have not moved for this long, while it may send, has lost messages (purged, moved to
   * the DLQ, a restart): its PENDING sends with no live lease are queued again. Longer than anything that legitimately
   * keeps a send waiting in the queue (visibility timeout, back-off, a paused campaign's hold).
   */
  stallMs: number;
  /** Send records read per run at most, over all campaigns (bounds the run's time and memory). */
  recordsPerRun: number;
  /** No new page is started once the run has lasted this long (keep it well inside the function's timeout). */
  timeBudgetMs: number;
  /** Send records per ledger page (one step of a campaign's pass). */
  pageSize: number;
  /** Active campaigns read per run at most. */
  campaignsPerRun: number;
}

export interface SweepReport {
  campaigns: number;
  recordsRead: number;
  requeued: number;
  cancelled: number;
  completed: string[];
  retired: number;
  /** true when the run stopped on its budget with work left (the next run goes on). */
  budgetSpent: boolean;
}

/**
 * One scheduled run of the sweeper: makes every campaign finish from durable state, with bounded work per run.
 *
 * For each active campaign (the store's list of campaigns not yet COMPLETED) it advances a recount pass by pages of
 * the campaign's send records (every recipient has one before its message is queued: campaign-recipients.ts). The
 * pass's cursor and partial counts are stored on the campaign after each page (`saveSweep`, guarded by a sequence
 * number), so a run reads at most `recordsPerRun` records and the next run goes on where it stopped. Campaigns take
 * turns page by page, so a big one does not starve the others. On the way:
 * - a campaign that stalled (its counters did not move for `stallMs` while it may send) gets its PENDING sends with no
 *   live lease queued again: messages lost from the queue are replaced (a send still queued is de-duplicated by its
 *   ledger record, so a duplicate is harmless; one requeue per stall period avoids storms);
 * - a cancelled campaign's PENDING sends WeChat certainly issued nothing for (`certainlyNotIssued`: never leased, or
 *   every call answered) are recorded CANCELLED (counted first, like the worker does);
 * - an open campaign whose last chunk is known is sealed once every chunk arrived; a cancelled open one as it stands.
 * A pass that finds every recipient's record final, with the campaign sealed and its version unchanged since the
 * pass began (nothing counted meanwhile), writes the exact counts: the campaign is COMPLETED and leaves the list. A
 * cancelled upload's recipients that never got a record (their chunk's post failed, and a cancelled upload takes
 * no chunk again) count as cancelled once the cancel is `stallMs` old.
 * A pass only starts when there is something to learn: the counters claim completion, the campaign stalled, or it
 * was cancelled; a campaign sending normally costs one read per run.
 */
export async function sweepCampaigns(deps: SweeperDependencies, settings: SweepSettings): Promise<SweepReport> {
  const started = deps.clock();
  const report: SweepReport = {
    campaigns: 0,
    recordsRead: 0,
    requeued: 0,
    cancelled: 0,
    completed: [],
    retired: 0,
    budgetSpent: false,
  };
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.campaigns.listActive({
      limit: Math.min(100, settings.campaignsPerRun - ids.length),
      ...(cursor ? { cursor } : {}),
    });
    ids.push(...page.items.map((c) => c.id));
    cursor = page.cursor;
  } while (cursor !== undefined && ids.length < settings.campaignsPerRun);
  report.campaigns = ids.length;

  const budgetLeft = () =>
    report.recordsRead + settings.pageSize <= settings.recordsPerRun && deps.clock() - started < settings.timeBudgetMs;
  // Round robin, one step (at most one page) per campaign per round, until every campaign is done for this run.
  let turn = ids;
  while (turn.length > 0) {
    const next: string[] = [];
    for (const id of turn) {
      if (!budgetLeft()) {
        report.budgetSpent = true;
        return report;
      }
      if ((await sweepStep(deps, settings, id, report)) === "more") next.push(id);
    }
    turn = next;
  }
  return report;
}

/** One step for one campaign: "more" when its pass goes on (another page this run), "done" for this run. */
async function sweepStep(
  deps: SweeperDependencies,
  settings: SweepSettings,
  id: string,
  report: SweepReport,
): Promise<"more" | "done"> {
  const now = deps.clock();
  let campaign = await deps.campaigns.get(id);
  if (campaign === undefined) return "done";
  if (campaign.reconciled) {
    await deps.campaigns.retire(id, now);
    report.retired++;
    return "done";
  }
  const stored = campaign.sweep;
  const expectedSeq = stored?.seq ?? 0;
  const sweep: CampaignSweep = stored ? structuredClone(stored) : { seq: 0, requeuedAt: 0 };

  if (sweep.pass === undefined) {
    campaign = await sealIfComplete(deps, campaign, now);
    const stalled = hasStalled(campaign, sweep, now, settings.stallMs);
    const claimsDone = campaign.sealed && campaign.sent + campaign.failed + campaign.cancelled >= campaign.total;
    // Sending normally: nothing to learn from its records yet (one read per run, nothing written).
    if (!stalled && !claimsDone && campaign.control !== "CANCELLED") return "done";
    sweep.pass = {
      counts: { sent: 0, failed: 0, cancelled: 0, failuresByCode: {} },
      pending: 0,
      seen: 0,
      startVersion: campaign.version,
      startedAt: now,
      requeue: stalled,
      requeued: 0,
    };
  }
  const pass = sweep.pass;
  const page = await deps.ledger.listByCampaign(id, {
    limit: settings.pageSize,
    ...(pass.cursor ? { cursor: pass.cursor } : {}),
  });
  report.recordsRead += page.items.length;
  const requeue: SendMessage[] = [];
  const cancellable = page.items.filter((r) => certainlyNotIssued(r) && campaign.control === "CANCELLED");
  if (cancellable.length > 0) {
    // Counted before they are written, as every outcome is: a crash in between over-counts (a pass corrects it).
    const tally: CampaignCounts = { ...outcomeTally("CANCELLED"), cancelled: cancellable.length };
    await deps.campaigns.recordOutcomes(id, tally, now);
  }
  for (const record of page.items) {
    pass.seen++;
    let current = record;
    if (cancellable.includes(record)) {
      const change = await deps.ledger.cancel(
        recipientRecord(messageOfRecord(campaign, record), record.createdAt),
        now,
      );
      if (change.changed) report.cancelled++;
      current = change.record;
    }
    if (countFinal(pass.counts, current)) continue;
    pass.pending++;
    if (pass.requeue && current.leaseUntil <= now) requeue.push(messageOfRecord(campaign, current));
  }
  if (requeue.length > 0) {
    await deps.queue.enqueue(requeue);
    pass.requeued += requeue.length;
    report.requeued += requeue.length;
  }
  if (page.cursor !== undefined) {
    pass.cursor = page.cursor;
    return (await save(deps, id, sweep, expectedSeq)) ? "more" : "done";
  }
  return finishPass(deps, campaign, sweep, pass, expectedSeq, now, report, settings.stallMs);
}

async function finishPass(
  deps: SweeperDependencies,
  campaign: CampaignRecord,
  sweep: CampaignSweep,
  pass: SweepPass,
  expectedSeq: number,
  now: number,
  report: SweepReport,
  stallMs: number,
): Promise<"done"> {
  // Recipients counted in the total without a send record: a chunk stored and counted whose post failed before
  // its records were written, then the upload was cancelled (a cancelled upload takes no chunk again). They were
  // never sent, and no worker sends a cancelled campaign's unleased record: cancelled. Only once the cancel is a
  // stall period old, so that a chunk post still writing its records when the cancel came has finished.
  const unrecorded = campaign.total - pass.seen;
  const cancelledUnrecorded =
    unrecorded > 0 && campaign.control === "CANCELLED" && now - (campaign.controlChangedAt ?? now) >= stallMs
      ? unrecorded
      : 0;
  const counts =
    cancelledUnrecorded === 0
      ? pass.counts
      : { ...pass.counts, cancelled: (pass.counts.cancelled ?? 0) + cancelledUnrecorded };
  const everyRecipientFinal =
    campaign.sealed && pass.pending === 0 && pass.seen + cancelledUnrecorded === campaign.total;
  if (everyRecipientFinal && (await deps.campaigns.reconcile(campaign.id, counts, pass.startVersion, now))) {
    report.completed.push(campaign.id);
    await deps.campaigns.retire(campaign.id, now);
    report.retired++;
    return "done";
  }
  delete sweep.pass;
  if (pass.requeued > 0) sweep.requeuedAt = now;
  await save(deps, campaign.id, sweep, expectedSeq);
  return "done";
}

/** Stores the sweep state as the next step; false when another run wrote first (this run leaves the campaign). */
function save(deps: SweeperDependencies, id: string, sweep: CampaignSweep, expectedSeq: number): Promise<boolean> {
  return deps.campaigns.saveSweep(id, { ...sweep, seq: expectedSeq + 1 }, expectedSeq);
}

/** Seals an open campaign whose chunks all arrived, or a cancelled one as it stands (it gets no more chunks). */
async function sealIfComplete(
  deps: SweeperDependencies,
  campaign: CampaignRecord,
  now: number,
): Promise<CampaignRecord> {
  if (campaign.sealed) return campaign;
  if (campaign.lastChunkNo !== undefined) {
    const sealed = await deps.campaigns.trySeal(campaign.id, now);
    if (sealed.record.sealed) return sealed.record;
  }
  if (campaign.control === "CANCELLED") return deps.campaigns.sealAsIs(campaign.id, now);
  return campaign;
}

/**
 * Nothing moved for `stallMs` while the campaign may send. `updatedAt` moves with every counted outcome (and with
 * control changes, chunks and seals); a pause holds the clock, and a resume, the start time or the sweeper's own
 * last requeue restart it (held messages come back on their own schedule; requeued ones take a while to count).
 */
function hasStalled(campaign: CampaignRecord, sweep: CampaignSweep, now: number, stallMs: number): boolean {
  if (sendGate(campaign, now).action === "hold") return false;
  const since = Math.max(
    sweep.requeuedAt,
    campaign.updatedAt,
    campaign.controlChangedAt ?? 0,
    campaign.startAt ?? 0,
    campaign.createdAt,
  );
  return now - since >= stallMs;
}
