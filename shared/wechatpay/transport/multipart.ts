import { randomBytes } from "node:crypto";

export interface MultipartFile {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

export interface MultipartBody {
  body: Buffer;
  contentType: string;
}

/**
 * The multipart/form-data body of WeChat's upload APIs (GO `services/fileuploader`): a `meta` part holding the meta
 * JSON, then the `file` part. The request signature covers the meta JSON, not these bytes.
 */
export function buildMultipartBody(
  meta: string,
  file: MultipartFile,
  boundary = `wxcoupon-${randomBytes(12).toString("hex")}`,
): MultipartBody {
  const quoted = file.filename.replace(/["\r\n\\]/g, "_");
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\n` +
        'Content-Disposition: form-data; name="meta";\r\n' +
        "Content-Type: application/json\r\n\r\n" +
        `${meta}\r\n` +
        `--${boundary}\r\n` +
        `Content-Disposition: form-data; name="file"; filename="${quoted}";\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
      "utf8",
    ),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`, "utf8"),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}
