import { NotFoundError } from "../../domain/errors.js";
import {
  type CampaignCounts,
  type CampaignRecord,
  type CampaignStore,
  type ClaimResult,
  deriveCampaignState,
  type NewCampaign,
} from "../../domain/ports.js";
import { campaignConflict, UNKNOWN_ERROR_CODE } from "../record-rules.js";

/** In-memory `CampaignStore` (reference implementation). */
export class MemoryCampaignStore implements CampaignStore {
  readonly #items = new Map<string, CampaignRecord>();

  async create(campaign: NewCampaign): Promise<ClaimResult<CampaignRecord>> {
    const existing = this.#items.get(campaign.id);
    if (existing !== undefined) {
      if (existing.requestHash !== campaign.requestHash) throw campaignConflict();
      return { created: false, record: copy(existing) };
    }
    const record = withState({
      ...structuredClone(campaign),
      state: "ACCEPTED",
      enqueued: 0,
      sent: 0,
      failed: 0,
      failuresByCode: {},
      version: 0,
      reconciled: false,
      updatedAt: campaign.createdAt,
    });
    this.#items.set(campaign.id, record);
    return { created: true, record: copy(record) };
  }

  async get(id: string): Promise<CampaignRecord | undefined> {
    const item = this.#items.get(id);
    return item === undefined ? undefined : copy(item);
  }

  async recordOutcome(
    id: string,
    outcome: "SENT" | "FAILED",
    errorCode: string | undefined,
    now: number,
  ): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    if (outcome === "SENT") item.sent += 1;
    else {
      item.failed += 1;
      const code = errorCode ?? UNKNOWN_ERROR_CODE;
      item.failuresByCode[code] = (item.failuresByCode[code] ?? 0) + 1;
    }
    item.version += 1;
    item.updatedAt = now;
    return copy(withState(item));
  }

  async reconcile(id: string, counts: CampaignCounts, expectedVersion: number, now: number): Promise<boolean> {
    const item = this.#mustGet(id);
    if (item.version !== expectedVersion) return false;
    Object.assign(item, structuredClone(counts), { reconciled: true, updatedAt: now });
    return true;
  }

  async markEnqueued(id: string, count: number, now: number): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    item.enqueued += count;
    item.updatedAt = now;
    return copy(withState(item));
  }

  #mustGet(id: string): CampaignRecord {
    const item = this.#items.get(id);
    if (item === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return item;
  }
}

function withState(r: CampaignRecord): CampaignRecord {
  r.state = deriveCampaignState(r);
  return r;
}

function copy(r: CampaignRecord): CampaignRecord {
  return withState(structuredClone(r));
}
