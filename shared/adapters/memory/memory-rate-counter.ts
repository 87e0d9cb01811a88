import type { CampaignUsage, RateCounter, RateSignal, RateTake, RateUsage } from "../../domain/rate/rate-governor.js";

/** In-memory `RateCounter`: one usage per scope and second (old seconds are dropped). */
export class MemoryRateCounter implements RateCounter {
  readonly #seconds = new Map<string, RateUsage>();
  readonly #signals = new Map<string, RateSignal>();

  async take(scope: string, epochSecond: number, take: RateTake): Promise<RateUsage> {
    const usage = this.#usage(scope, epochSecond, true)!;
    if (take.campaign === undefined) {
      usage.total += take.tokens;
      usage.interactive += take.tokens;
      usage.interactiveAsked += take.asked;
    } else {
      const campaign = usage.campaigns.get(take.campaign.id) ?? { taken: 0, asked: 0, ratePerSecond: 0 };
      campaign.taken += take.tokens;
      campaign.asked += take.asked;
      campaign.ratePerSecond = take.campaign.ratePerSecond;
      usage.campaigns.set(take.campaign.id, campaign);
    }
    return copy(usage);
  }

  async commit(
    scope: string,
    epochSecond: number,
    tokens: number,
    campaignId: string,
  ): Promise<{ total: number; own: number }> {
    const usage = this.#usage(scope, epochSecond, true)!;
    usage.total += tokens;
    const campaign = usage.campaigns.get(campaignId) ?? { taken: 0, asked: 0, ratePerSecond: 0 };
    campaign.taken += tokens;
    usage.campaigns.set(campaignId, campaign);
    return { total: usage.total, own: campaign.taken };
  }

  async giveBack(
    scope: string,
    epochSecond: number,
    back: { total: number; own: number; campaignId?: string },
  ): Promise<void> {
    const usage = this.#usage(scope, epochSecond, true)!;
    usage.total -= back.total;
    if (back.campaignId === undefined) usage.interactive -= back.own;
    else {
      const campaign = usage.campaigns.get(back.campaignId);
      if (campaign) campaign.taken -= back.own;
    }
  }

  async usage(scope: string, epochSecond: number): Promise<RateUsage | undefined> {
    const usage = this.#usage(scope, epochSecond, false);
    return usage && copy(usage);
  }

  #usage(scope: string, epochSecond: number, create: boolean): RateUsage | undefined {
    const key = `${scope}#${epochSecond}`;
    let usage = this.#seconds.get(key);
    if (usage === undefined && create) {
      if (this.#seconds.size > 10_000) this.#seconds.clear();
      usage = { total: 0, interactive: 0, interactiveAsked: 0, campaigns: new Map() };
      this.#seconds.set(key, usage);
    }
    return usage;
  }

  async readSignal(scope: string): Promise<RateSignal | undefined> {
    const signal = this.#signals.get(scope);
    return signal === undefined ? undefined : { ...signal };
  }

  async recordSignal(scope: string, signal: RateSignal, spacingMs: number): Promise<void> {
    const recorded = this.#signals.get(scope);
    if (recorded && recorded.lastCut >= signal.lastCut - spacingMs) return;
    this.#signals.set(scope, { ...signal });
  }
}

function copy(usage: RateUsage): RateUsage {
  const campaigns = new Map<string, CampaignUsage>();
  for (const [id, c] of usage.campaigns) campaigns.set(id, { ...c });
  return { total: usage.total, interactive: usage.interactive, interactiveAsked: usage.interactiveAsked, campaigns };
}
