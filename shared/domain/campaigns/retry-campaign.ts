import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import { UNKNOWN_ERROR_CODE } from "../keyed-call.js";
import type { CampaignRecord, RetryFill, RetryLink, SendLedger } from "../ports.js";
import { requestHash } from "../sends/request-hash.js";
import { addCampaignChunk } from "./add-campaign-chunk.js";
import { type CampaignDependencies, openCampaign } from "./create-campaign.js";
import { refreshCampaign } from "./reconcile-campaign.js";

/**
 * Parent records read per page, hence the most recipients one chunk of a retry holds. Below the chunk route's
 * 10,000 and small enough that a page of send records stays far under DynamoDB's 1 MB per Query.
 */
export const RETRY_PAGE_SIZE = 1_000;
/** Pages one retry request fills at most: bounds its work (reads, queued messages) within the API's timeout. */
export const RETRY_PAGES_PER_CALL = 5;
/**
 * No new page is started once a request has run this long: with the page bound, it keeps a request well inside the
 * api function's 20 s timeout (infra/settings.ts) even when the queue or the table is slow.
 */
export const RETRY_TIME_BUDGET_MS = 8_000;

/** The retry opens its campaign like any other, stock pre-flight included (`openCampaign`). */
export interface RetryDependencies extends CampaignDependencies {
  ledger: SendLedger;
}

export interface RetryCommand {
  /** The campaign whose failures are sent again (the parent). */
  campaignId: string;
  /** Final failure codes to retry; order and duplicates do not matter. */
  codes: readonly string[];
}

export interface RetryOptions {
  pageSize?: number;
  pagesPerCall?: number;
  timeBudgetMs?: number;
}

export interface RetryResult {
  /** The retry campaign (the child), as stored after this request's pages. */
  campaign: CampaignRecord;
  parent: CampaignRecord;
  /** true: this request created the retry (otherwise it continued or replayed it). */
  created: boolean;
  /** Every page of the parent was read into the retry: calling again adds nothing. */
  fillingComplete: boolean;
  /** Pages this request added. */
  pagesAdded: number;
}

/**
 * Re-sends a COMPLETED campaign's failures of chosen codes as a new campaign, its **retry** (a chunked campaign of the
 * same stock, appid and rate, with its own deterministic out_request_nos), so pause, cancel, progress, counters and
 * everything else that holds for campaigns holds for it.
 *
 * - The retry's id derives from (parent, attempt, codes); the parent lists it (`retries`), the retry names its parent
 *   (`retryOf`). Retrying a retry makes a retry of it (same rule, one generation down).
 * - Chunk k of the retry is page k of the parent's send records (`RETRY_PAGE_SIZE`, ledger order), keeping the FAILED
 *   ones of those codes. A COMPLETED campaign's records are final, so page k is the same page on every read and a
 *   repeated chunk is a replay: the caller's answer to any failure is to call again.
 * - Bounded work: one request adds at most `RETRY_PAGES_PER_CALL` pages (fewer past `RETRY_TIME_BUDGET_MS`) and
 *   stores the cursor on the retry (`retryFill`); calling again with the same codes continues, and once complete,
 *   replays (adds nothing).
 * - Never a second coupon from one parent: a code belongs to at most one retry of a parent (codes overlapping an
 *   earlier retry's are a 409), and a new retry waits until the previous one is filled (409 meanwhile), so each failed
 *   record is in at most one retry. CANCELLED recipients are not failures and are never retried.
 *
 * Known limit: duplicates inside a chunk are removed (`addCampaignChunk`), so an openid the parent had on two lines
 * whose sends both failed, and whose records fall on one page, is retried once; on two pages, twice (as the parent
 * asked).
 */
export async function retryCampaign(
  deps: RetryDependencies,
  command: RetryCommand,
  options: RetryOptions = {},
): Promise<RetryResult> {
  const codes = normalizeCodes(command.codes);
  const found = await refreshCampaign(deps, command.campaignId);
  if (!found) throw new NotFoundError("campaign_id", `no campaign ${command.campaignId}`);
  const started = await startOrFind(deps, found, codes);
  return fill(deps, started, codes, options);
}

/** The id of a parent's `attempt`-th retry, of these (normalized) codes: short, URL-safe, of fixed length. */
export function retryCampaignId(parentId: string, attempt: number, codes: readonly string[]): string {
  return `r${requestHash({ parentId, attempt, codes }).slice(0, 24)}`;
}

/** Codes sorted, without duplicates: the same set in any order is the same retry. */
export function normalizeCodes(codes: readonly string[]): string[] {
  const unique = [...new Set(codes)].sort();
  if (unique.length === 0) throw new ValidationError("codes", "must name at least one failure code");
  return unique;
}

// ---- refusals (HTTP 409, except the ValidationError above) ----

export function parentNotCompleted(parent: CampaignRecord): ConflictError {
  return new ConflictError(
    "CAMPAIGN_NOT_COMPLETED",
    "campaign_id",
    `the campaign is ${parent.state}: only a COMPLETED campaign (sealed, every recipient with its final outcome) ` +
      "can be retried",
  );
}

function noFailures(parent: CampaignRecord, codes: readonly string[]): ConflictError {
  const failed = Object.entries(parent.failuresByCode)
    .filter(([, n]) => n > 0)
    .map(([code, n]) => `${code} (${n})`);
  return new ConflictError(
    "NO_FAILURES_TO_RETRY",
    "codes",
    `no recipient of this campaign failed with ${codes.join(", ")}; its failures: ${failed.join(", ") || "none"}`,
  );
}

function codesOverlap(link: RetryLink, codes: readonly string[]): ConflictError {
  const shared = codes.filter((c) => link.codes.includes(c));
  return new ConflictError(
    "RETRY_CODES_OVERLAP",
    "codes",
    `${shared.join(", ")} ${shared.length === 1 ? "was" : "were"} retried before by campaign ${link.campaignId} ` +
      `(codes ${link.codes.join(", ")}): call it again with exactly those codes, or retry that campaign`,
  );
}

function retryInProgress(link: RetryLink): ConflictError {
  return new ConflictError(
    "RETRY_IN_PROGRESS",
    "codes",
    `retry ${link.campaignId} (codes ${link.codes.join(", ")}) is still being filled: call again with those codes ` +
      "until filling_complete, then retry other codes",
  );
}

// ---- steps ----

interface Started {
  parent: CampaignRecord;
  child: CampaignRecord;
  created: boolean;
}

/** The retry of exactly these codes (created if need be), after the refusals above. */
async function startOrFind(deps: RetryDependencies, found: CampaignRecord, codes: string[]): Promise<Started> {
  let parent = found;
  // A lost race re-reads the parent, which then lists the winner (the same codes: continue it; others: refused).
  for (let round = 0; round < 5; round++) {
    const links = parent.retries ?? [];
    const index = links.findIndex((l) => sameCodes(l.codes, codes));
    if (index >= 0) {
      const child = await ensureChild(deps, parent, index + 1, links[index]!);
      return { parent, child, created: false };
    }
    const overlapping = links.find((l) => l.codes.some((c) => codes.includes(c)));
    if (overlapping) throw codesOverlap(overlapping, codes);
    const previous = links.at(-1);
    if (previous && (await stillFilling(deps, previous))) throw retryInProgress(previous);
    if (parent.state !== "COMPLETED") throw parentNotCompleted(parent);
    if (codes.every((c) => (parent.failuresByCode[c] ?? 0) === 0)) throw noFailures(parent, codes);

    const attempt = links.length + 1;
    const link: RetryLink = { campaignId: retryCampaignId(parent.id, attempt, codes), codes };
    // The parent names its retry first: a crash before the retry exists is healed by the next call (ensureChild).
    const added = await deps.campaigns.addRetry(parent.id, link, links.length, deps.clock());
    parent = added.record;
    if (!added.changed) continue;
    const child = await ensureChild(deps, parent, attempt, link);
    return { parent, child, created: true };
  }
  throw new ConflictError(
    "RETRY_CONTENDED",
    "campaign_id",
    "other retries of this campaign are being created: try again",
  );
}

/** The retry campaign of `link`: read, or opened when the parent lists it but it does not exist yet. */
async function ensureChild(
  deps: RetryDependencies,
  parent: CampaignRecord,
  attempt: number,
  link: RetryLink,
): Promise<CampaignRecord> {
  const stored = await deps.campaigns.get(link.campaignId);
  if (stored) return stored;
  const opened = await openCampaign(deps, {
    mchid: parent.mchid,
    stockId: parent.stockId,
    appid: parent.appid,
    ratePerSecond: parent.ratePerSecond,
    campaignId: link.campaignId,
    retryOf: { campaignId: parent.id, attempt, codes: link.codes },
  });
  return opened.campaign;
}

/** A retry blocks the next one until it is filled, unless it was cancelled (it will take no more chunks). */
async function stillFilling(deps: RetryDependencies, link: RetryLink): Promise<boolean> {
  const child = await deps.campaigns.get(link.campaignId);
  if (!child) return true;
  return child.retryFill?.complete !== true && child.control !== "CANCELLED";
}

/** Adds up to `pagesPerCall` pages of the parent's failures of `codes` to the retry, storing the cursor after each. */
async function fill(
  deps: RetryDependencies,
  { parent, child: start, created }: Started,
  codes: string[],
  options: RetryOptions,
): Promise<RetryResult> {
  const pageSize = options.pageSize ?? RETRY_PAGE_SIZE;
  const pagesPerCall = options.pagesPerCall ?? RETRY_PAGES_PER_CALL;
  const deadline = deps.clock() + (options.timeBudgetMs ?? RETRY_TIME_BUDGET_MS);
  const wanted = new Set(codes);
  let child = start;
  let progress: RetryFill = child.retryFill ?? { nextPage: 0, complete: false };
  let pagesAdded = 0;
  while (pagesAdded < pagesPerCall && !progress.complete && child.control !== "CANCELLED") {
    // At least one page per request, so that calling again always makes progress.
    if (pagesAdded > 0 && deps.clock() >= deadline) break;
    const page = await deps.ledger.listByCampaign(parent.id, {
      limit: pageSize,
      ...(progress.cursor === undefined ? {} : { cursor: progress.cursor }),
    });
    const openids = page.items
      .filter((r) => r.state === "FAILED" && wanted.has(r.errorCode ?? UNKNOWN_ERROR_CODE))
      .map((r) => r.openid);
    const last = page.cursor === undefined;
    try {
      const added = await addCampaignChunk(deps, {
        campaignId: child.id,
        chunkNo: progress.nextPage,
        openids,
        ...(last ? { last: true } : {}),
      });
      child = added.campaign;
    } catch (error) {
      // The page changed since it was first added (a late success turned a FAILED record SENT): the chunk stored
      // first stands, already queued; reading the page again must not stop the filling.
      if (!(error instanceof ConflictError && error.code === "CHUNK_CONFLICT")) throw error;
    }
    pagesAdded++;
    const next: RetryFill = {
      nextPage: progress.nextPage + 1,
      complete: last,
      ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
    };
    const stored = await deps.campaigns.advanceRetryFill(child.id, next, deps.clock());
    child = stored.record;
    // Not changed: a concurrent request went further; carry on from where it is.
    progress = stored.changed ? next : (stored.record.retryFill ?? next);
  }
  return { campaign: child, parent, created, fillingComplete: progress.complete, pagesAdded };
}

function sameCodes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}
