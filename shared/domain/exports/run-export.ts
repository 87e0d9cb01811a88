import type {
  Clock,
  CouponStore,
  ErrorInfo,
  ExportCheckpoint,
  ExportJob,
  ExportObjects,
  ExportQueue,
  ExportRecord,
  ExportStore,
  SendLedger,
} from "../ports.js";
import { couponLine, failureLine, headerLine } from "./export-csv.js";
import { exportFilename } from "./start-export.js";

export interface RunExportDependencies {
  exports: ExportStore;
  objects: ExportObjects;
  queue: ExportQueue;
  coupons: Pick<CouponStore, "listIssuedByStock" | "getMany">;
  ledger: Pick<SendLedger, "listByCampaign">;
  clock: Clock;
  /**
   * Bytes buffered before a part is uploaded: at least S3's 5 MiB minimum for every part but the last
   * (docs/aws-notes.md#s3-multipart-uploads). Memory holds about one part and one page.
   */
  partBytes: number;
  /** Records read per page of the source. */
  pageSize: number;
  /** The claim's lease: longer than the function's timeout, so a live invocation is never overtaken. */
  leaseMs: number;
  /** Time kept in hand: below it no further page is read, the export is checkpointed and continued. */
  reserveMs: number;
}

export type RunExportResult =
  | { outcome: "completed"; rows: number; bytes: number }
  | { outcome: "continued"; rows: number }
  | { outcome: "retrying" | "failed"; error: ErrorInfo }
  | { outcome: "skipped"; reason: "busy" | "final" | "missing" | "lease_lost" };

/** Tries of one export that may end in an error (S3 or DynamoDB refusing) before it is recorded FAILED. */
export const MAX_EXPORT_TRIES = 5;
/** Delay before a failed try is tried again, doubled each time (30 s, 60 s, …). */
export const EXPORT_RETRY_DELAY_SECONDS = 30;

/** Coupons read by one `getMany` (its limit: one DynamoDB BatchGetItem). */
const COUPONS_PER_GET = 100;

/** Minimum size of a multipart part other than the last (S3). */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;

/**
 * One invocation's share of an export: claims it, goes on from its checkpoint, pages through the campaign's coupons
 * (or send records, keeping the FAILED ones) and writes the CSV as parts of one multipart upload. A part is
 * uploaded only at a page boundary once `partBytes` are buffered, and the checkpoint (upload id, parts, the next
 * page's cursor) is stored right after it: a timeout or a crash loses at most the rows since the last part, which the
 * next invocation reads again. When `remainingMs()` falls below `reserveMs` the invocation stops at the last
 * checkpoint and queues the export again. The last page completes the upload (its part may be small).
 */
export async function runExport(
  deps: RunExportDependencies,
  job: ExportJob,
  remainingMs: () => number,
): Promise<RunExportResult> {
  if (deps.partBytes < S3_MIN_PART_BYTES) throw new Error(`partBytes must be at least ${S3_MIN_PART_BYTES}`);
  const { exportId } = job;
  const claim = await deps.exports.claim(exportId, deps.clock(), deps.leaseMs);
  if (claim.status !== "acquired") return { outcome: "skipped", reason: claim.status };
  const record = claim.record;
  const lease = record.leaseUntil;
  try {
    return await writeExport(deps, record, remainingMs);
  } catch (cause) {
    // The lease is ours: record the failure, or hand the export to a later try (from its checkpoint).
    const error = { code: "EXPORT_ERROR", message: describe(cause) };
    if (job.failedTries + 1 >= MAX_EXPORT_TRIES) {
      await deps.exports.fail(exportId, lease, error, deps.clock());
      return { outcome: "failed", error };
    }
    await deps.exports.release(exportId, lease, deps.clock());
    await deps.queue.enqueue(
      { exportId, failedTries: job.failedTries + 1 },
      EXPORT_RETRY_DELAY_SECONDS * 2 ** job.failedTries,
    );
    return { outcome: "retrying", error };
  }
}

/** An AWS error's name and message (they carry no secret; an export holds none), bounded. */
function describe(cause: unknown): string {
  const e = cause as { name?: unknown; message?: unknown };
  return `${String(e?.name ?? "Error")}: ${String(e?.message ?? cause)}`.slice(0, 300);
}

async function writeExport(
  deps: RunExportDependencies,
  record: ExportRecord,
  remainingMs: () => number,
): Promise<RunExportResult> {
  const { exportId } = record;
  const lease = record.leaseUntil;

  let checkpoint: ExportCheckpoint | undefined = record.checkpoint;
  // Every part is up: only the completion is left (an earlier try may have completed the object, then failed).
  if (checkpoint?.uploaded) return finish(deps, record, checkpoint);
  if (checkpoint === undefined) {
    const uploadId = await deps.objects.createUpload(record.objectKey, exportFilename(record));
    checkpoint = { uploadId, parts: [], rows: 0, bytes: 0 };
    if (!(await deps.exports.saveCheckpoint(exportId, lease, checkpoint, deps.clock()))) {
      return { outcome: "skipped", reason: "lease_lost" };
    }
  }

  const readPage = pageReader(deps, record);
  let chunks: string[] = [];
  let buffered = 0;
  let rows = checkpoint.rows;
  let cursor = checkpoint.cursor;
  const add = (text: string) => {
    chunks.push(text);
    buffered += Buffer.byteLength(text);
  };
  // The header starts the object: only when nothing was read yet.
  if (checkpoint.parts.length === 0 && checkpoint.cursor === undefined) add(headerLine(record.what));

  for (;;) {
    if (remainingMs() < deps.reserveMs) {
      // Rows read since the last part are dropped: the checkpoint's cursor reads them again.
      if (!(await deps.exports.release(exportId, lease, deps.clock())))
        return { outcome: "skipped", reason: "lease_lost" };
      await deps.queue.enqueue({ exportId, failedTries: 0 });
      return { outcome: "continued", rows: checkpoint.rows };
    }
    const page = await readPage(cursor);
    for (const text of page.lines) add(text);
    rows += page.lines.length;
    cursor = page.cursor;
    const last = cursor === undefined;
    if (!last && buffered < deps.partBytes) continue;

    const body = Buffer.from(chunks.join(""));
    chunks = [];
    buffered = 0;
    const partNumber: number = checkpoint.parts.length + 1;
    const etag = await deps.objects.uploadPart(record.objectKey, checkpoint.uploadId, partNumber, body);
    checkpoint = {
      uploadId: checkpoint.uploadId,
      parts: [...checkpoint.parts, { partNumber, etag }],
      rows,
      bytes: checkpoint.bytes + body.length,
      ...(cursor === undefined ? {} : { cursor }),
    };
    if (last) {
      // Stored before the completion: a try after it fails (the completion's answer lost, the record's write
      // refused) completes again instead of uploading a part to an upload S3 no longer has (NoSuchUpload).
      checkpoint = { ...checkpoint, uploaded: true };
      if (!(await deps.exports.saveCheckpoint(exportId, lease, checkpoint, deps.clock()))) {
        return { outcome: "skipped", reason: "lease_lost" };
      }
      return finish(deps, record, checkpoint);
    }
    if (!(await deps.exports.saveCheckpoint(exportId, lease, checkpoint, deps.clock()))) {
      return { outcome: "skipped", reason: "lease_lost" };
    }
  }
}

/** Completes the upload of a checkpoint whose parts are all uploaded, then the export's record. */
async function finish(
  deps: RunExportDependencies,
  record: ExportRecord,
  checkpoint: ExportCheckpoint,
): Promise<RunExportResult> {
  const { rows, bytes } = checkpoint;
  await deps.objects.completeUpload(record.objectKey, checkpoint.uploadId, checkpoint.parts);
  const done = await deps.exports.complete(record.exportId, record.leaseUntil, { rows, bytes }, deps.clock());
  if (!done) return { outcome: "skipped", reason: "lease_lost" };
  return { outcome: "completed", rows, bytes };
}

function pageReader(
  deps: RunExportDependencies,
  record: ExportRecord,
): (cursor: string | undefined) => Promise<{ lines: string[]; cursor?: string }> {
  const page = (cursor: string | undefined) => ({ limit: deps.pageSize, ...(cursor === undefined ? {} : { cursor }) });
  if (record.what === "coupons") {
    // Paged in an order nothing changes: the stock's issued coupons by id (a coupon's keys there are written once),
    // each page's records then read as they are now. The campaign's coupon list (`listByCampaign`) is ordered by state
    // and time, so a use or a refund while the export pages would move a coupon behind the cursor (never written)
    // or ahead of it (written twice). A stock can serve other campaigns and direct sends: their coupons are skipped.
    return async (cursor) => {
      const result = await deps.coupons.listIssuedByStock(record.stockId, page(cursor));
      const batches: string[][] = [];
      for (let i = 0; i < result.items.length; i += COUPONS_PER_GET) {
        batches.push(result.items.slice(i, i + COUPONS_PER_GET));
      }
      const found = new Map(
        (await Promise.all(batches.map((ids) => deps.coupons.getMany(ids)))).flatMap((m) => [...m]),
      );
      const now = deps.clock();
      const lines: string[] = [];
      // In the page's (id) order: a batch get answers in any order.
      for (const id of result.items) {
        const r = found.get(id);
        if (r?.campaignId === record.campaignId) lines.push(couponLine(r, record.availableEndTime, now));
      }
      return { lines, ...(result.cursor === undefined ? {} : { cursor: result.cursor }) };
    };
  }
  return async (cursor) => {
    const result = await deps.ledger.listByCampaign(record.campaignId, page(cursor));
    return {
      lines: result.items.filter((r) => r.state === "FAILED").map(failureLine),
      ...(result.cursor === undefined ? {} : { cursor: result.cursor }),
    };
  };
}
