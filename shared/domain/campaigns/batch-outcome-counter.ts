import type { CampaignCounts, CampaignRecord, CampaignStore, Clock } from "../ports.js";
import { addTally } from "./outcome-tally.js";

interface Waiter {
  campaignId: string;
  tally: CampaignCounts;
  resolve: (campaign: CampaignRecord) => void;
  reject: (error: unknown) => void;
}

/**
 * Adds the outcomes of one SQS batch to their campaigns' counters in one update per campaign instead of one per send.
 * A send's count must land before its record turns final, so each send waits here until the batch's counts are
 * written: that happens as soon as every send still running has either counted or finished, or `maxWaitMs` after
 * the first count (a slow WeChat call must not hold the others' leases). A failed write fails every send waiting on
 * it, which then retries as if its own count had failed.
 */
export class BatchOutcomeCounter {
  #running = 0;
  #waiting: Waiter[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly campaigns: CampaignStore,
    private readonly clock: Clock,
    private readonly maxWaitMs = 250,
  ) {}

  /**
   * Runs one send. `count` is the send's way to add its outcome (at most once); a send that ends without counting
   * stops being waited for.
   */
  async track<T>(send: (count: (campaignId: string, tally: CampaignCounts) => Promise<CampaignRecord>) => Promise<T>) {
    this.#running++;
    let counted = false;
    const count = (campaignId: string, tally: CampaignCounts) => {
      if (counted) return this.campaigns.recordOutcomes(campaignId, tally, this.clock()); // not expected; stay correct
      counted = true;
      return this.#add(campaignId, tally);
    };
    try {
      return await send(count);
    } finally {
      if (!counted) this.#leave();
    }
  }

  #add(campaignId: string, tally: CampaignCounts): Promise<CampaignRecord> {
    const counted = new Promise<CampaignRecord>((resolve, reject) => {
      this.#waiting.push({ campaignId, tally, resolve, reject });
    });
    this.#timer ??= setTimeout(() => this.#flush(), this.maxWaitMs);
    this.#leave();
    return counted;
  }

  #leave(): void {
    this.#running--;
    if (this.#running === 0) this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const waiting = this.#waiting.splice(0);
    const byCampaign = new Map<string, Waiter[]>();
    for (const w of waiting) byCampaign.set(w.campaignId, [...(byCampaign.get(w.campaignId) ?? []), w]);
    for (const [campaignId, waiters] of byCampaign) {
      const tally = waiters.reduce((sum, w) => addTally(sum, w.tally), { sent: 0, failed: 0, failuresByCode: {} });
      this.campaigns.recordOutcomes(campaignId, tally, this.clock()).then(
        (campaign) => {
          for (const w of waiters) w.resolve(campaign);
        },
        (error: unknown) => {
          for (const w of waiters) w.reject(error);
        },
      );
    }
  }
}

/**
 * Runs a campaign's recount at most once at a time in this process; a request made while one runs gets one more run
 * after it, which starts after the requester's own write and so sees it.
 */
export function coalesceByCampaign(run: (campaignId: string) => Promise<unknown>) {
  const states = new Map<string, { running: Promise<void>; again?: Promise<void> }>();
  const start = (campaignId: string): Promise<void> => {
    const running = run(campaignId).then(
      () => undefined,
      () => undefined, // a failed recount is retried by the next send or status read
    );
    const state = { running };
    states.set(campaignId, state);
    void running.then(() => {
      if (states.get(campaignId) === state) states.delete(campaignId);
    });
    return running;
  };
  return (campaignId: string): Promise<void> => {
    const state = states.get(campaignId);
    if (!state) return start(campaignId);
    state.again ??= state.running.then(() => start(campaignId));
    return state.again;
  };
}
