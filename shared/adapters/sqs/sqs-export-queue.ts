import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
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
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#queueUrl,
        MessageBody: encodeExportJob(job),
        DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))),
      }),
    );
  }
}
