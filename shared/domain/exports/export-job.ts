import { MessageFormatError } from "../errors.js";
import type { ExportJob } from "../ports.js";
import { EXPORT_ID_PATTERN } from "./start-export.js";

/** The export queue's message body: `{"export_id", "failed_tries"}`. */
export const encodeExportJob = (job: ExportJob): string =>
  JSON.stringify({ export_id: job.exportId, failed_tries: job.failedTries });

/** A message body as `encodeExportJob` wrote it; anything else is a poison message. */
export function decodeExportJob(body: string): ExportJob {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new MessageFormatError("body", "is not JSON");
  }
  const { export_id, failed_tries } = (value ?? {}) as Record<string, unknown>;
  if (typeof export_id !== "string" || !EXPORT_ID_PATTERN.test(export_id)) {
    throw new MessageFormatError("export_id", "is not an export id");
  }
  const failedTries = typeof failed_tries === "number" && Number.isInteger(failed_tries) ? failed_tries : 0;
  return { exportId: export_id, failedTries: Math.max(0, failedTries) };
}
