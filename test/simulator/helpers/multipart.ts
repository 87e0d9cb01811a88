import { createHash } from "node:crypto";

/** A multipart/form-data upload body as WeChat's SDKs build it: meta JSON part, then the file part. */
export function imageUpload(filename: string, data: Buffer, metaOverride?: Record<string, unknown>) {
  const boundary = "----wxcoupon-test-boundary";
  const meta = JSON.stringify(metaOverride ?? { filename, sha256: createHash("sha256").update(data).digest("hex") });
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="meta";\r\nContent-Type: application/json\r\n\r\n${meta}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, meta, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A tiny valid-looking PNG (signature + IHDR is enough for type sniffing). */
export const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from("0000000d49484452000000780000007808060000", "hex"),
]);
export const JPG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
