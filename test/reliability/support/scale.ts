/**
 * The size knob of the reliability suite: `RELIABILITY_SCALE=ci` (bounded, a few minutes on a 2-core runner; the
 * default) or `full` (the sizes of issue 6). Every loop in the suite is bounded by these numbers.
 */
export type ReliabilityScale = "ci" | "full";

function readScale(): ReliabilityScale {
  const value = (process.env.RELIABILITY_SCALE ?? "ci").toLowerCase();
  if (value !== "ci" && value !== "full") throw new Error(`RELIABILITY_SCALE must be ci or full, not ${value}`);
  return value;
}

export const SCALE: ReliabilityScale = readScale();

const pick = <T>(ci: T, full: T): T => (SCALE === "full" ? full : ci);

export const SIZES = {
  /** Keys sent concurrently, identical sends per key, conflicting sends (another openid) per key. */
  duplicateKeys: pick(5, 20),
  identicalSends: pick(20, 50),
  conflictingSends: pick(5, 20),
  /** Recipients of the campaign posted concurrently, and how many times it is posted at once. */
  repostRecipients: pick(200, 2_000),
  repostCopies: pick(5, 10),
  /** Send-queue messages enqueued directly, copies of each. */
  redeliveryKeys: pick(10, 50),
  redeliveryCopies: pick(5, 10),
  /** Notifications delivered repeatedly (concurrently and sequentially), deliveries of each. */
  notificationIds: pick(5, 20),
  notificationDeliveries: pick(10, 20),
  /** Recipients per WeChat fault case (2 rates × 3 kinds). */
  faultRecipients: pick(100, 1_000),
  /** Recipients while the DynamoDB proxy fails writes; synchronous sends through the same faults. */
  storeFaultRecipients: pick(600, 2_000),
  storeFaultSyncSends: pick(30, 200),
  /** The campaign whose worker process is SIGKILLed at random points, and how many kills. */
  killRecipients: pick(1_000, 5_000),
  workerKills: pick(5, 15),
  /** The campaign held below the simulator's send limit. */
  rateRecipients: pick(2_000, 5_000),
  /** fast-check runs per route. */
  fuzzRunsPerRoute: pick(20, 200),
} as const;

/** Polling deadlines grow with the sizes. */
export const campaignTimeoutMs = (recipients: number, perSecond = 40) =>
  Math.max(60_000, Math.ceil((recipients / perSecond) * 1_000) * 3);
