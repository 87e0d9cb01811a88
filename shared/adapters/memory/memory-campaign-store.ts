import { lastChunkConflict } from "../../domain/campaigns/campaign-conflicts.js";
import { addTally } from "../../domain/campaigns/outcome-tally.js";
import { NotFoundError } from "../../domain/errors.js";
import {
  type CampaignChunk,
  type CampaignCounts,
  type CampaignListOptions,
  type CampaignRecord,
  type CampaignStore,
  type CampaignSweep,
  type ClaimResult,
  type ControlChange,
  deriveCampaignState,
  type ListPage,
  type NewCampaign,
  type NewCampaignChunk,
  type RetryFill,
  type RetryLink,
  type StateChange,
} from "../../domain/ports.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { campaignConflict, campaignListOrder, campaignListOwner } from "../record-rules.js";

/** In-memory `CampaignStore` (reference implementation). */
export class MemoryCampaignStore implements CampaignStore {
  readonly #items = new Map<string, CampaignRecord>();
  readonly #chunks = new Map<string, CampaignChunk>();
  readonly #retired = new Set<string>();

  async create(campaign: NewCampaign): Promise<ClaimResult<CampaignRecord>> {
    const existing = this.#items.get(campaign.id);
    if (existing !== undefined) {
      if (existing.requestHash !== campaign.requestHash) throw campaignConflict();
      return { created: false, record: copy(existing) };
    }
    const chunked = campaign.chunked === true;
    const record = withState({
      ...structuredClone(campaign),
      state: "ACCEPTED",
      chunked,
      // A one-shot campaign is one chunk (number 0), complete at once.
      sealed: !chunked,
      ...(chunked ? {} : { lastChunkNo: 0 }),
      chunksReceived: chunked ? 0 : 1,
      enqueued: 0,
      sent: 0,
      failed: 0,
      cancelled: 0,
      failuresByCode: {},
      version: 0,
      reconciled: false,
      control: "RUNNING",
      updatedAt: campaign.createdAt,
    });
    this.#items.set(campaign.id, record);
    return { created: true, record: copy(record) };
  }

  async get(id: string): Promise<CampaignRecord | undefined> {
    const item = this.#items.get(id);
    return item === undefined ? undefined : copy(item);
  }

  async recordOutcomes(id: string, tally: CampaignCounts, now: number): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    if (item.reconciled) return copy(withState(item)); // the recount already holds every final send
    addTally(item, tally);
    item.version += 1;
    item.updatedAt = now;
    return copy(withState(item));
  }

  async recordLateSuccess(id: string, failureCode: string, now: number): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    if (item.reconciled && item.failed > 0 && (item.failuresByCode[failureCode] ?? 0) > 0) {
      item.sent += 1;
      item.failed -= 1;
      item.failuresByCode[failureCode] = item.failuresByCode[failureCode]! - 1;
      item.updatedAt = now;
    }
    return copy(withState(item));
  }

  async reconcile(id: string, counts: CampaignCounts, expectedVersion: number, now: number): Promise<boolean> {
    const item = this.#mustGet(id);
    if (item.version !== expectedVersion || !item.sealed) return false;
    Object.assign(item, structuredClone(counts), {
      cancelled: counts.cancelled ?? 0,
      reconciled: true,
      updatedAt: now,
    });
    return true;
  }

  async setControl(id: string, change: ControlChange, now: number): Promise<StateChange<CampaignRecord>> {
    const item = this.#mustGet(id);
    if (item.reconciled || !change.from.includes(item.control)) return { changed: false, record: copy(item) };
    Object.assign(item, { control: change.to, controlChangedAt: now, updatedAt: now });
    if (change.reason === undefined) delete item.controlReason;
    else item.controlReason = change.reason;
    return { changed: true, record: copy(item) };
  }

  async list(options: CampaignListOptions): Promise<ListPage<CampaignRecord>> {
    // Same order and cursor shape as the DynamoDB adapter's index: created_at descending, then id descending.
    const after =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, ["list", "after"], { list: campaignListOwner(options.mchid) }).after;
    const ordered = [...this.#items.values()]
      .filter((c) => c.mchid === options.mchid)
      .map((c) => ({ c, key: campaignListOrder(c) }))
      .filter(({ key }) => after === undefined || key < after)
      .sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
    const scanLimit = options.scanLimit ?? Number.POSITIVE_INFINITY;
    const items: CampaignRecord[] = [];
    let scanned = 0;
    let lastKey: string | undefined;
    for (const { c, key } of ordered) {
      if (items.length >= options.limit || scanned >= scanLimit) break;
      scanned++;
      lastKey = key;
      const record = copy(c);
      if (options.where === undefined || options.where(record)) items.push(record);
    }
    if (scanned >= ordered.length || lastKey === undefined) return { items };
    return { items, cursor: encodeCursor({ list: campaignListOwner(options.mchid), after: lastKey }) };
  }

  async sealAsIs(id: string, now: number): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    if (!item.sealed) Object.assign(item, { sealed: true, updatedAt: now });
    return copy(item);
  }

  async listActive(options: { limit: number; cursor?: string }): Promise<ListPage<CampaignRecord>> {
    // Oldest first, like the DynamoDB adapter's index of active campaigns.
    const after =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, ["list", "after"], { list: ACTIVE_LIST }).after;
    const ordered = [...this.#items.values()]
      .filter((c) => !this.#retired.has(c.id))
      .map((c) => ({ c, key: campaignListOrder(c) }))
      .filter(({ key }) => after === undefined || key > after)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const page = ordered.slice(0, options.limit);
    const items = page.map(({ c }) => copy(c));
    const last = page.at(-1);
    if (ordered.length <= options.limit || last === undefined) return { items };
    return { items, cursor: encodeCursor({ list: ACTIVE_LIST, after: last.key }) };
  }

  async saveSweep(id: string, sweep: CampaignSweep, expectedSeq: number): Promise<boolean> {
    const item = this.#mustGet(id);
    if (item.reconciled || (item.sweep?.seq ?? 0) !== expectedSeq) return false;
    item.sweep = structuredClone(sweep);
    return true;
  }

  async retire(id: string): Promise<void> {
    this.#retired.add(id);
  }

  async addRetry(
    id: string,
    link: RetryLink,
    expectedCount: number,
    now: number,
  ): Promise<StateChange<CampaignRecord>> {
    const item = this.#mustGet(id);
    const retries = item.retries ?? [];
    if (retries.length !== expectedCount) return { changed: false, record: copy(item) };
    Object.assign(item, { retries: [...retries, structuredClone(link)], updatedAt: now });
    return { changed: true, record: copy(item) };
  }

  async advanceRetryFill(id: string, fill: RetryFill, now: number): Promise<StateChange<CampaignRecord>> {
    const item = this.#mustGet(id);
    if ((item.retryFill?.nextPage ?? 0) >= fill.nextPage) return { changed: false, record: copy(item) };
    Object.assign(item, { retryFill: structuredClone(fill), updatedAt: now });
    return { changed: true, record: copy(item) };
  }

  async markEnqueued(id: string, count: number, now: number): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    item.enqueued += count;
    item.updatedAt = now;
    return copy(withState(item));
  }

  async putChunk(chunk: NewCampaignChunk): Promise<ClaimResult<CampaignChunk>> {
    const key = chunkKey(chunk.campaignId, chunk.chunkNo);
    const existing = this.#chunks.get(key);
    if (existing !== undefined) return { created: false, record: structuredClone(existing) };
    const record: CampaignChunk = {
      ...structuredClone(chunk),
      counted: false,
      enqueued: false,
      updatedAt: chunk.createdAt,
    };
    this.#chunks.set(key, record);
    return { created: true, record: structuredClone(record) };
  }

  async getChunk(id: string, chunkNo: number): Promise<CampaignChunk | undefined> {
    const chunk = this.#chunks.get(chunkKey(id, chunkNo));
    return chunk === undefined ? undefined : structuredClone(chunk);
  }

  async countChunk(id: string, chunkNo: number, now: number): Promise<StateChange<CampaignChunk>> {
    const chunk = this.#mustGetChunk(id, chunkNo);
    if (chunk.counted) return { changed: false, record: structuredClone(chunk) };
    Object.assign(chunk, { counted: true, updatedAt: now });
    const item = this.#items.get(id);
    if (item !== undefined && !item.sealed) {
      item.total += chunk.count;
      item.chunksReceived += 1;
      item.updatedAt = now;
    }
    return { changed: true, record: structuredClone(chunk) };
  }

  async markChunkEnqueued(id: string, chunkNo: number, now: number): Promise<StateChange<CampaignChunk>> {
    const chunk = this.#mustGetChunk(id, chunkNo);
    if (chunk.enqueued) return { changed: false, record: structuredClone(chunk) };
    Object.assign(chunk, { enqueued: true, updatedAt: now });
    const item = this.#items.get(id);
    if (item !== undefined) {
      item.enqueued += chunk.count;
      item.updatedAt = now;
    }
    return { changed: true, record: structuredClone(chunk) };
  }

  async setLastChunk(id: string, chunkNo: number, now: number): Promise<CampaignRecord> {
    const item = this.#mustGet(id);
    if (item.lastChunkNo !== undefined && item.lastChunkNo !== chunkNo) throw lastChunkConflict(item.lastChunkNo);
    if (item.lastChunkNo === undefined) Object.assign(item, { lastChunkNo: chunkNo, updatedAt: now });
    return copy(item);
  }

  async trySeal(id: string, now: number): Promise<{ record: CampaignRecord; missing: number }> {
    const item = this.#mustGet(id);
    if (item.sealed || item.lastChunkNo === undefined) return { record: copy(item), missing: 0 };
    let missing = 0;
    let total = 0;
    for (let n = 0; n <= item.lastChunkNo; n++) {
      const chunk = this.#chunks.get(chunkKey(id, n));
      if (chunk === undefined) missing++;
      else total += chunk.count;
    }
    if (missing === 0) {
      Object.assign(item, { sealed: true, total, chunksReceived: item.lastChunkNo + 1, updatedAt: now });
    }
    return { record: copy(item), missing };
  }

  #mustGet(id: string): CampaignRecord {
    const item = this.#items.get(id);
    if (item === undefined) throw new NotFoundError("campaign_id", "no such campaign");
    return item;
  }

  #mustGetChunk(id: string, chunkNo: number): CampaignChunk {
    const chunk = this.#chunks.get(chunkKey(id, chunkNo));
    if (chunk === undefined) throw new NotFoundError("chunk_no", "no such chunk");
    return chunk;
  }
}

const ACTIVE_LIST = "ACTIVE";
const chunkKey = (id: string, chunkNo: number) => `${id}#${chunkNo}`;

function withState(r: CampaignRecord): CampaignRecord {
  r.state = deriveCampaignState(r);
  return r;
}

function copy(r: CampaignRecord): CampaignRecord {
  return withState(structuredClone(r));
}
