import { createHash } from "node:crypto";
import { NotFoundError } from "../errors.js";
import type { CampaignStore, Clock, ExportKind, ExportQueue, ExportRecord, ExportStore } from "../ports.js";

/**
 * How long a finished or running export answers the same request again (`POST /campaigns/{id}/exports` with the same
 * `what`): a caller that repeats its request, or two operators asking at once, get one export; after it a new one is
 * made, so a running campaign's later outcomes are not hidden behind an old file.
 */
export const EXPORT_FRESH_MS = 15 * 60_000;

export interface StartExportDependencies {
  exports: ExportStore;
  queue: ExportQueue;
  campaigns: Pick<CampaignStore, "get">;
  /** The stock's available_end_time (epoch ms): coupons unused after it are exported EXPIRED. */
  stockEnd: (stockId: string) => Promise<number | undefined>;
  clock: Clock;
}

/** Export ids: `exp_` and 24 base32 characters of a hash of (campaign, what, time), safe in a path and a file name. */
export const EXPORT_ID_PATTERN = /^exp_[a-z2-7]{24}$/;

function exportIdOf(campaignId: string, what: ExportKind, now: number): string {
  const digest = createHash("sha256").update(`${campaignId}\n${what}\n${now}`).digest();
  let bits = "";
  for (const byte of digest.subarray(0, 15)) bits += byte.toString(2).padStart(8, "0");
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let id = "";
  for (let i = 0; i < 120; i += 5) id += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return `exp_${id}`;
}

/** The object's file name as the download offers it. */
export const exportFilename = (r: Pick<ExportRecord, "campaignId" | "what" | "exportId">): string =>
  `${r.campaignId}-${r.what}-${r.exportId}.csv`;

/**
 * Starts an export of a campaign's coupons or failures, or answers the fresh one of the same kind. The work is the
 * export function's (`runExport`), reached through the export queue. A replay finding its export never claimed
 * (a crash between the record and the message, or a lost message) queues it again: the worker's claim makes a second
 * message harmless.
 */
export async function startExport(
  deps: StartExportDependencies,
  campaignId: string,
  what: ExportKind,
): Promise<{ record: ExportRecord; created: boolean }> {
  const campaign = await deps.campaigns.get(campaignId);
  if (!campaign) throw new NotFoundError("campaign_id", `no campaign ${campaignId}`);
  const now = deps.clock();
  const exportId = exportIdOf(campaignId, what, now);
  const availableEndTime = what === "coupons" ? await deps.stockEnd(campaign.stockId) : undefined;
  const result = await deps.exports.startOrReuse(
    {
      exportId,
      campaignId,
      what,
      objectKey: `exports/${campaignId}/${exportId}.csv`,
      stockId: campaign.stockId,
      ...(availableEndTime === undefined ? {} : { availableEndTime }),
      createdAt: now,
    },
    now,
    EXPORT_FRESH_MS,
  );
  if (result.created || (result.record.state === "PENDING" && result.record.invocations === 0)) {
    await deps.queue.enqueue({ exportId: result.record.exportId, failedTries: 0 });
  }
  return result;
}

/**
 * Lifetime of a download link. A presigned URL also stops working when the credentials that signed it expire
 * (docs/aws-notes.md#s3-presigned-urls): the api function's role credentials outlive an hour, and each GET of the
 * export signs a new link.
 */
export const EXPORT_LINK_SECONDS = 3600;
