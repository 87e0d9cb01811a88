import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { MessageFormatError } from "../../domain/errors.js";
import { decodeExportJob } from "../../domain/exports/export-job.js";
import { type RunExportDependencies, runExport } from "../../domain/exports/run-export.js";

/**
 * The export function: one message (batch size 1) names one export; `runExport` writes as much of it as the
 * invocation's remaining time allows and queues the rest itself, so the message is always consumed. A thrown error
 * (the table or the queue unreachable before the lease could be handed on) returns the message after the queue's
 * visibility timeout, when the lease has expired and the export goes on from its checkpoint.
 */
export function createExportHandler(deps: RunExportDependencies & { logger: Logger }) {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    for (const record of event.Records) {
      let job: ReturnType<typeof decodeExportJob>;
      try {
        job = decodeExportJob(record.body);
      } catch (error) {
        if (!(error instanceof MessageFormatError)) throw error;
        // Not an export's message: nothing to retry it for.
        deps.logger.error("export message dropped", { messageId: record.messageId, reason: error.message });
        continue;
      }
      const result = await runExport(deps, job, () => context.getRemainingTimeInMillis());
      deps.logger.info("export", { exportId: job.exportId, ...result });
    }
    // The mapping reports partial failures; a thrown error fails the batch (of one) instead.
    return { batchItemFailures: [] };
  };
}
