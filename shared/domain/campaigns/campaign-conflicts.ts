import { ConflictError } from "../errors.js";

// The refusals of chunked campaigns, shared by the domain and every CampaignStore implementation so the codes and
// fields cannot drift apart. All map to HTTP 409.

/** A chunk number reused for other openids. */
export function chunkConflict(chunkNo: number): ConflictError {
  return new ConflictError(
    "CHUNK_CONFLICT",
    "chunk_no",
    `chunk ${chunkNo} of this campaign was already accepted with other openids`,
  );
}

/** A chunk claims to be the last one while another number was recorded as the last. */
export function lastChunkConflict(lastChunkNo: number): ConflictError {
  return new ConflictError("LAST_CHUNK_CONFLICT", "last", `chunk ${lastChunkNo} was already posted as the last chunk`);
}

/** A chunk numbered after the last one. */
export function chunkAfterLast(chunkNo: number, lastChunkNo: number): ConflictError {
  return new ConflictError(
    "CHUNK_AFTER_LAST",
    "chunk_no",
    `chunk ${chunkNo} comes after the last chunk (${lastChunkNo}) of this campaign`,
  );
}

/** Chunks posted to a campaign that was created with its openids (one-shot). */
export function notChunked(): ConflictError {
  return new ConflictError(
    "CAMPAIGN_NOT_CHUNKED",
    "campaign_id",
    "this campaign was created with its openids; create it with chunked: true to post chunks",
  );
}
