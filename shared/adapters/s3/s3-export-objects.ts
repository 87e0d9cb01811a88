import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { ExportObjects, ExportPart } from "../../domain/ports.js";

/**
 * `ExportObjects` on the export bucket (env `EXPORT_BUCKET_NAME`): one multipart upload per export, its parts
 * uploaded one at a time by the export function (the download link is `S3DownloadLinks`'s). The bucket encrypts with
 * S3-managed keys by default, so no header is sent.
 */
export class S3ExportObjects implements ExportObjects {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async createUpload(key: string, filename: string): Promise<string> {
    const { UploadId } = await this.#client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: key,
        ContentType: "text/csv; charset=utf-8",
        ContentDisposition: `attachment; filename="${filename}"`,
      }),
    );
    if (!UploadId) throw new Error("CreateMultipartUpload answered no UploadId");
    return UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    const { ETag } = await this.#client.send(
      new UploadPartCommand({
        Bucket: this.#bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: body.length,
      }),
    );
    if (!ETag) throw new Error(`UploadPart ${partNumber} answered no ETag`);
    return ETag;
  }

  /**
   * S3 answers NoSuchUpload for an upload "aborted or completed" (docs/aws-notes.md#s3-multipart-uploads): the
   * object at the key (HeadObject, authorized by s3:GetObject) tells that it was this one's earlier completion, since
   * each export has a key of its own and completes one upload; otherwise the upload is gone (aborted) and the error
   * stands.
   */
  async completeUpload(key: string, uploadId: string, parts: ExportPart[]): Promise<void> {
    try {
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (error) {
      // By name: the SDK names an S3 error by its code, whether or not the operation models it.
      if (errorName(error) !== "NoSuchUpload" || !(await this.#exists(key))) throw error;
    }
  }

  async #exists(key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (error) {
      if (errorName(error) === "NotFound") return false;
      throw error;
    }
  }
}

const errorName = (error: unknown) => (error as { name?: unknown } | undefined)?.name;
