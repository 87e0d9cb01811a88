import { partition } from "@aws-sdk/core/client";
import { formatUrl } from "@aws-sdk/core/util";
import { S3RequestPresigner, type S3RequestPresignerOptions } from "@aws-sdk/s3-request-presigner";
import { Sha256 } from "@smithy/core/checksum";
import { escapeUri, HttpRequest } from "@smithy/core/protocols";
import type { ExportLinks } from "../../domain/ports.js";

export interface S3DownloadLinksOptions {
  bucket: string;
  region: string;
  credentials: S3RequestPresignerOptions["credentials"];
  /**
   * A custom S3 endpoint (the local stack's `AWS_ENDPOINT_URL_S3`, an IP address): objects are then addressed
   * path-style (`{endpoint}/{bucket}/{key}`), as the SDK addresses them on an IP endpoint. Without it: S3's regional
   * virtual-hosted endpoint of the region's partition.
   */
  endpoint?: string;
}

/**
 * `ExportLinks` on the export bucket: a presigned GET of a finished export (docs/aws-notes.md#s3-presigned-urls),
 * signed by the SDK's `S3RequestPresigner` (SigV4 query signing with S3's rules: unsigned payload, no double path
 * escaping) on a request built here, without an `S3Client`: the api function only signs links, and the S3 client
 * with its XML protocol and endpoint rules took 140 KB of its bundle (docs/aws-notes.md#s3-presigned-urls).
 * The URL is the one `getSignedUrl(new S3Client(…), new GetObjectCommand(…))` gives (test/unit/adapters/s3-download-links.test.ts).
 */
export class S3DownloadLinks implements ExportLinks {
  readonly #bucket: string;
  readonly #base: URL;
  readonly #pathStyle: boolean;
  readonly #presigner: S3RequestPresigner;

  constructor(options: S3DownloadLinksOptions) {
    this.#bucket = options.bucket;
    this.#pathStyle = options.endpoint !== undefined;
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html (regional endpoint, the partition's suffix).
    this.#base = new URL(
      options.endpoint ?? `https://${options.bucket}.s3.${options.region}.${partition(options.region).dnsSuffix}`,
    );
    this.#presigner = new S3RequestPresigner({
      region: options.region,
      credentials: options.credentials,
      sha256: Sha256,
    });
  }

  async downloadUrl(key: string, expiresInSeconds: number, filename: string): Promise<string> {
    const objectPath = key.split("/").map(escapeUri).join("/");
    const request = new HttpRequest({
      method: "GET",
      protocol: this.#base.protocol,
      hostname: this.#base.hostname,
      ...(this.#base.port ? { port: Number(this.#base.port) } : {}),
      path: this.#pathStyle ? `/${this.#bucket}/${objectPath}` : `/${objectPath}`,
      // What GetObject's serializer adds (the operation's marker, and checksum mode from the SDK's default
      // response-checksum validation), so the link is byte for byte the one an S3Client would presign.
      query: { "response-content-disposition": `attachment; filename="${filename}"`, "x-id": "GetObject" },
      headers: { "x-amz-checksum-mode": "ENABLED" },
    });
    return formatUrl(await this.#presigner.presign(request, { expiresIn: expiresInSeconds }));
  }
}
