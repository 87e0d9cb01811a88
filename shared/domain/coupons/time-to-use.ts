/**
 * Time from a coupon's send to its first use, kept per campaign as a histogram so the report reads one bounded item
 * whatever the campaign's size. Buckets grow geometrically, four per doubling: bucket 0 holds everything under one
 * second (including a use WeChat timed a little before our send was recorded: the clocks differ), bucket b ≥ 1 holds
 * [2^((b-1)/4), 2^(b/4)) seconds. A value read back from a bucket is its geometric middle, within 2^(1/8) - 1 (9.1 %)
 * of any time in it. A stock's window is at most 90 days (docs/wechatpay-cash-coupons.md#create-stock-e1), about
 * 2^22.9 s, so a campaign fills at most 93 buckets.
 */
const BUCKETS_PER_DOUBLING = 4;

/** The bucket of a time to use (ms). */
export function timeToUseBucket(ms: number): number {
  const seconds = ms / 1000;
  if (!(seconds >= 1)) return 0;
  return 1 + Math.floor(Math.log2(seconds) * BUCKETS_PER_DOUBLING);
}

/** The time (ms) a bucket stands for: 0 for bucket 0, else the geometric middle of its range. */
export function bucketMidpointMs(bucket: number): number {
  if (bucket <= 0) return 0;
  return Math.round(2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING) * 1000);
}

/**
 * The median of a histogram (the lower median: the ⌈n/2⌉-th smallest time), as its bucket's middle; undefined when
 * empty.
 */
export function histogramMedianMs(histogram: Record<number, number>): number | undefined {
  const buckets = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), count] as const)
    .filter(([, count]) => count > 0)
    .sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return undefined;
  const rank = Math.ceil(total / 2);
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= rank) return bucketMidpointMs(bucket);
  }
  return undefined;
}
