import { generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { NOTIFY_ROUTE_THROTTLE } from "../../../infra/settings.js";
import { runningStock, startTestStack } from "../../helpers/local-stack-client.js";
import { deliverNotification, signedNotification } from "../../helpers/wechat-notification.js";
import { LogCapture } from "../../reliability/support/log-capture.js";

/**
 * The webhook is public: anyone can POST to it. A stranger's notification must cost the service nothing beyond its
 * own refusal — no call to WeChat (in public-key mode there is nothing to download; in platform-certificate mode at
 * most one certificate refresh per container per minute), no write, no ERROR line (which would page someone through
 * the notify alarm), and a 401.
 */

// A stranger's key: the notifications are well formed in every way that needs no key, and signed by someone else.
const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;

/** Random serials of every shape: certificate-like hex (long and short), unknown public-key ids, and junk. */
function randomSerial(i: number): string {
  switch (i % 4) {
    case 0:
      return randomBytes(20).toString("hex").toUpperCase();
    case 1:
      return randomBytes(8).toString("hex");
    case 2:
      return `PUB_KEY_ID_${Array.from({ length: 30 }, () => randomInt(10)).join("")}`;
    default:
      return randomBytes(randomInt(1, 30)).toString("base64url");
  }
}

/**
 * Just under the webhook route's throttle (NOTIFY_ROUTE_THROTTLE, which the local gateway holds as API Gateway does):
 * this measures what the function does with a stranger's notification, not the throttle in front of it.
 */
const FLOOD_PER_SECOND = NOTIFY_ROUTE_THROTTLE.rateLimit * 0.9;

async function flood(stack: LocalStack, stockId: string, count: number, serial: (i: number) => string) {
  const statuses = new Map<number, number>();
  let next = 0;
  // Each request's slot is the previous one's plus the interval, never in the past: after a stall (this process also
  // hosts the stack, and the machine may be busy) the flood resumes at its rate instead of catching up in a burst.
  const interval = 1000 / FLOOD_PER_SECOND;
  let slot = performance.now() - interval;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      slot = Math.max(slot + interval, performance.now());
      const due = slot - performance.now();
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      const notification = signedNotification(stack, {
        id: `EV-stranger-${i}`,
        couponId: `77${String(i).padStart(6, "0")}`,
        stockId,
        key: stranger,
        serial: serial(i),
      });
      const response = await deliverNotification(stack, notification);
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return Object.fromEntries(statuses);
}

const errorLines = (logs: LogCapture) =>
  logs
    .text()
    .split("\n")
    .filter((line) => /"level":"ERROR"|http-gateway: .* failed/.test(line));

/**
 * What a stored notification would leave behind: the table's items and the coupon-events queue's messages. The
 * handlers run in their own execution environments (worker threads), so this is read from the stand-ins themselves.
 */
async function storedState(stack: LocalStack) {
  const region = stack.emulators.env.AWS_REGION;
  const credentials = { accessKeyId: "local", secretAccessKey: "local" };
  const dynamodb = new DynamoDBClient({ endpoint: stack.emulators.endpoints.dynamodb, region, credentials });
  try {
    const { Count } = await dynamodb.send(
      new ScanCommand({ TableName: stack.emulators.env.TABLE_NAME, Select: "COUNT" }),
    );
    const { Attributes = {} } = await stack.emulators.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.emulators.queues.events.url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return { items: Count, events: Attributes };
  } finally {
    dynamodb.destroy();
  }
}

describe("1,000 notifications with random Wechatpay-Serial values (public-key mode)", () => {
  let stack: LocalStack;
  let stockId: string;
  const logs = new LogCapture();

  beforeAll(async () => {
    stack = await startTestStack({ log: logs.sink });
    stockId = await runningStock(stack, "stranger-stock");
  }, 60_000);
  afterAll(async () => {
    logs.stop();
    await stack?.stop();
  });

  it("are all answered 401, with no call to WeChat, no table write and no ERROR line", async () => {
    const wechatBefore = stack.simulator.stats().requests_total;
    const stored = await storedState(stack);
    logs.start();
    let statuses: Record<number, number>;
    try {
      statuses = await flood(stack, stockId, 1_000, randomSerial);
    } finally {
      logs.stop();
    }
    expect(statuses).toEqual({ 401: 1_000 });
    expect(stack.simulator.stats().requests_total - wechatBefore).toBe(0);
    expect(await storedState(stack)).toEqual(stored);
    expect(errorLines(logs)).toEqual([]);
    // The refusals are visible to an operator, at WARN.
    expect(logs.text()).toContain("notification refused");
  }, 120_000);
});

describe("unknown serials in platform-certificate mode", () => {
  let stack: LocalStack;
  let stockId: string;
  const logs = new LogCapture();

  beforeAll(async () => {
    stack = await startTestStack({ log: logs.sink, simulator: { mode: "platform_certificate" } });
    stockId = await runningStock(stack, "stranger-cert-stock");
  }, 60_000);
  afterAll(async () => {
    logs.stop();
    await stack?.stop();
  });

  it("trigger one certificate download per container per minute, not one per notification", async () => {
    const wechatBefore = stack.simulator.stats().requests_total;
    const coldBefore = stack.functions.notify!.coldStarts;
    const stored = await storedState(stack);
    logs.start();
    let statuses: Record<number, number>;
    try {
      // Certificate-like serials: the ones a download could resolve, so the only ones that may trigger one.
      statuses = await flood(stack, stockId, 200, () => randomBytes(20).toString("hex").toUpperCase());
    } finally {
      logs.stop();
    }
    expect(statuses).toEqual({ 401: 200 });
    // Each notify container (execution environment) had no certificate yet: its first unknown serial downloads, its
    // others do not. The flood runs 16 at a time, so the host started several containers.
    const containers = stack.functions.notify!.coldStarts;
    const downloads = stack.simulator.stats().requests_total - wechatBefore;
    expect(containers).toBeGreaterThan(coldBefore);
    expect(downloads).toBeGreaterThanOrEqual(1);
    expect(downloads).toBeLessThanOrEqual(containers);
    expect(await storedState(stack)).toEqual(stored);
    expect(errorLines(logs)).toEqual([]);

    // The certificate it downloaded is WeChat's current one: a genuine notification verifies without another call.
    const config = stack.simulator.config;
    const genuine = signedNotification(stack, {
      id: "EV-cert-genuine",
      couponId: "77999999",
      stockId,
      key: config.keys.platformPrivateKey,
      serial: config.platform_certificate_serial,
    });
    expect((await deliverNotification(stack, genuine)).status).toBe(204);
    expect(stack.simulator.stats().requests_total - wechatBefore).toBe(downloads);
  }, 120_000);
});
