import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { QueueError } from "../../domain/errors.js";
import { encodeExportJob } from "../../domain/exports/export-job.js";
import type { ExportJob, ExportQueue } from "../../domain/ports.js";

/** `ExportQueue` on the export queue (env `EXPORT_QUEUE_URL`): the body is `{"export_id", "failed_tries"}`. */
export class SqsExportQueue implements ExportQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  async enqueue(job: ExportJob, delaySeconds = 0): Promise<void> {
    try {
      await this.#client.send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: encodeExportJob(job),
          DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))),
        }),
      );
    } catch (error) {
      // The SDK retried already (its standard retry strategy): the caller's request may be repeated as a whole.
      const code = (error as { name?: string }).name ?? "Error";
      throw new QueueError(`the export queue refused the message (${code})`, 1, [code], { cause: error });
    }
  }
}
