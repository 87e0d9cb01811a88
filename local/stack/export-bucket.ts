import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

const DAY_MS = 24 * 3600 * 1000;

/**
 * The export bucket's lifecycle expiration, which fauxqs's S3 does not apply (its README: bucket configuration,
 * lifecycle included, is not supported): once a minute, objects older than `days` are deleted. S3 runs its rule
 * asynchronously and may take a day or more past the date
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html); the local
 * sweep is prompter, never later.
 */
export function startBucketExpiry(
  s3: S3Client,
  bucket: string,
  days: number,
  now: () => number = Date.now,
): { sweep(): Promise<number>; stop(): Promise<void> } {
  const sweep = async (): Promise<number> => {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, ...(token === undefined ? {} : { ContinuationToken: token }) }),
      );
      const expired = (page.Contents ?? []).filter(
        (o) => o.Key !== undefined && o.LastModified !== undefined && o.LastModified.getTime() + days * DAY_MS <= now(),
      );
      if (expired.length > 0) {
        await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: expired.map((o) => ({ Key: o.Key! })) } }),
        );
        deleted += expired.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return deleted;
  };
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweep().catch(() => 0);
  }, 60_000);
  timer.unref();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
