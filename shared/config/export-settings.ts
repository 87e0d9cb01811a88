/**
 * How the export function works through an export, shared by its composition root and the CDK stack (which sizes the
 * function and the queue from EXPORT_FUNCTION_TIMEOUT_SECONDS).
 *
 * - 8 MiB parts: above S3's 5 MiB minimum and below the 11 MiB request body the local S3 stand-in accepts; with the
 *   page being read, the CSV in memory stays under about 20 MB whatever the campaign's size.
 * - Pages of 500 records: one Query each (well under DynamoDB's 1 MB page for coupon records).
 * - 30 s kept in hand: reading a page and uploading a part take far less; the invocation then checkpoints and hands
 *   the export to the next one.
 * - The lease outlives the function's timeout, so a live invocation is never overtaken by a redelivered message.
 */
export const EXPORT_FUNCTION_TIMEOUT_SECONDS = 300;
export const EXPORT_TUNING = {
  partBytes: 8 * 1024 * 1024,
  pageSize: 500,
  reserveMs: 30_000,
  leaseMs: (EXPORT_FUNCTION_TIMEOUT_SECONDS + 60) * 1000,
} as const;
