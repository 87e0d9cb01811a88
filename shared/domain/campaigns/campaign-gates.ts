import type { CampaignRecord, CampaignStore, Clock } from "../ports.js";
import { CONTROL_FRESH_MS, type SendGate, sendGate } from "./campaign-lifecycle.js";

export type { SendGate } from "./campaign-lifecycle.js";

/**
 * One batch's view of its campaigns' control: one strongly consistent read per campaign, shared by the batch's
 * sends, and read again only when it is older than `freshMs` at the moment a send is about to start (a rate wait
 * can last seconds). Concurrent askers share one read.
 */
export class CampaignGates {
  readonly #reads = new Map<string, { at: number; record: Promise<CampaignRecord | undefined> }>();
  readonly #cancelled = new Set<string>();
  /** Campaigns whose latest gate in this batch was not "send" (held or cancelled). */
  readonly #stopped = new Set<string>();

  constructor(
    private readonly campaigns: CampaignStore,
    private readonly clock: Clock,
    private readonly freshMs = CONTROL_FRESH_MS,
  ) {}

  /** What to do with a send of `campaignId` now. An unknown campaign sends (the send path reports it). */
  async gate(campaignId: string): Promise<SendGate> {
    let read = this.#reads.get(campaignId);
    if (read === undefined || this.clock() - read.at >= this.freshMs) {
      read = { at: this.clock(), record: this.campaigns.get(campaignId) };
      this.#reads.set(campaignId, read);
      // A failed read is not cached: the next asker reads again.
      read.record.catch(() => {
        if (this.#reads.get(campaignId) === read) this.#reads.delete(campaignId);
      });
    }
    const record = await read.record;
    if (record === undefined) return { action: "send" };
    const gate = sendGate(record, this.clock());
    if (gate.action === "cancel") this.#cancelled.add(campaignId);
    if (gate.action === "send") this.#stopped.delete(campaignId);
    else this.#stopped.add(campaignId);
    return gate;
  }

  /** Drops the read of a campaign whose control this batch just changed: the next send reads it again. */
  forget(campaignId: string): void {
    this.#reads.delete(campaignId);
  }

  /** Whether the batch's latest look at the campaign found it held or cancelled: its sends start no more. */
  stopped(campaignId: string): boolean {
    return this.#stopped.has(campaignId);
  }

  /** Campaigns this batch found cancelled. */
  cancelledCampaigns(): string[] {
    return [...this.#cancelled];
  }
}
