import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { describe, expect, it, vi } from "vitest";
import { S3DownloadLinks } from "#shared/adapters/s3/s3-download-links.js";

// The api signs export links without an S3Client (its bundle size); the link must be the one the SDK's own
// getSignedUrl makes for the same object, date and credentials, in AWS (virtual-hosted, per partition) and locally.
const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "tok/en+=",
};
const signingDate = new Date("2026-12-06T10:00:00Z");
const key = "exports/camp 1/exp_aaaaaaaaaaaaaaaaaaaaaaaa.csv";
const filename = "campaign-camp 1-coupons.csv";

async function sdkLink(options: { bucket: string; region: string; endpoint?: string }): Promise<string> {
  const client = new S3Client({
    region: options.region,
    credentials,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  try {
    return await getSignedUrl(
      client,
      new GetObjectCommand({
        Bucket: options.bucket,
        Key: key,
        ResponseContentDisposition: `attachment; filename="${filename}"`,
      }),
      { expiresIn: 3600, signingDate },
    );
  } finally {
    client.destroy();
  }
}

async function ourLink(options: { bucket: string; region: string; endpoint?: string }): Promise<string> {
  const links = new S3DownloadLinks({ ...options, credentials });
  // The presigner reads the clock for X-Amz-Date; the SDK's link above is pinned to the same instant.
  vi.useFakeTimers({ now: signingDate, toFake: ["Date"] });
  try {
    return await links.downloadUrl(key, 3600, filename);
  } finally {
    vi.useRealTimers();
  }
}

describe("S3DownloadLinks", () => {
  it.each([
    ["aws", { bucket: "wxcoupon-stateful-exportbucket-abc123", region: "ap-east-1" }],
    ["aws-cn", { bucket: "wxcoupon-stateful-exportbucket-abc123", region: "cn-north-1" }],
    ["us-east-1", { bucket: "wxcoupon-exports", region: "us-east-1" }],
    [
      "the local stand-in (IP endpoint, path-style)",
      { bucket: "wxcoupon-exports", region: "us-east-1", endpoint: "http://127.0.0.1:45123" },
    ],
  ])("signs the same URL as getSignedUrl with an S3Client: %s", async (_name, options) => {
    const expected = await sdkLink(options);
    const actual = await ourLink(options);
    expect(new URL(actual).searchParams.get("X-Amz-Date")).toBe("20261206T100000Z");
    expect(actual).toBe(expected);
  });
});
