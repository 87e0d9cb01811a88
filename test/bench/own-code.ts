/**
 * CPU of the send worker's core per campaign coupon, estimated directly: the real send worker
 * (`createSendWorkerHandler` with the real WeChat client, gateway, merchant runtime, rate governor, domain and
 * Powertools logger) over the in-memory adapters of its ports, its WeChat client answered in-process from WeChat-signed
 * answers prepared before the measured window. Nothing goes over a socket and no AWS SDK runs, so
 * `process.cpuUsage()` across the batches ÷ coupons is the repository's code, the node:crypto calls it makes (sign
 * each request on libuv's pool, verify each answer), the libraries it calls and their GC. Left out: the AWS adapters'
 * own code (the in-memory adapters' copying stands in for it), node's HTTP send, campaign creation (the API's), and
 * EMF output (metrics are off here as in the local stack). The end-to-end bench sets it beside the stack's figure.
 */
import { type KeyObject, randomBytes, sign } from "node:crypto";
import type { SQSEvent } from "aws-lambda";
import { toRecord } from "#local/stack/sqs-poller.js";
import type { HttpAnswer, HttpSend } from "#shared/wechatpay/index.js";
import { testMerchantKeys } from "../helpers/merchant-secret.js";

export interface OwnCodeFigure {
  coupons: number;
  cpuMsPerCoupon: number;
  /** Sends that ended SENT (all of them, or the figure is not what it says). */
  sent: number;
}

const BATCH_SIZE = 10;

/** WeChat's answers to `count` sends, signed as WeChat signs them, one per request in order. */
function preparedAnswers(count: number, wechatpayPrivateKey: KeyObject, publicKeyId: string): HttpSend {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const answers: HttpAnswer[] = Array.from({ length: count }, (_, i) => {
    const body = JSON.stringify({ coupon_id: String(10_000_000_000 + i) });
    const nonce = randomBytes(16).toString("hex");
    const message = Buffer.from(`${timestamp}\n${nonce}\n${body}\n`);
    return {
      status: 200,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "request-id": `08${randomBytes(12).toString("hex")}`,
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": nonce,
        "wechatpay-signature": sign("sha256", message, wechatpayPrivateKey).toString("base64"),
        "wechatpay-serial": publicKeyId,
        "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
      },
      bytes: Buffer.from(body),
    };
  });
  let next = 0;
  return async () => {
    const answer = answers[next++];
    if (!answer) throw new Error("own-code bench: more WeChat calls than prepared answers");
    return answer;
  };
}

/** Sends `warmup` then `coupons` campaign coupons through the send worker; CPU per coupon of the measured part. */
export async function measureOwnCodeCpu(options: {
  coupons: number;
  warmup?: number;
  concurrency?: number;
  ratePerSecond?: number;
}): Promise<OwnCodeFigure> {
  process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const worker = await import("./own-code-worker.js");
  const { secret, wechatpayPrivateKey } = testMerchantKeys();
  const warmup = options.warmup ?? 500;
  const send = preparedAnswers(warmup + options.coupons, wechatpayPrivateKey, secret.wechatpayPublicKeyId!);
  const run = worker.sendWorkerOverMemory({ secret, send });
  const campaign = async (prefix: string, count: number) => {
    const openids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    const bodies = await run.enqueueCampaign(openids, options.ratePerSecond ?? 400);
    const events = chunk(bodies, BATCH_SIZE).map(sqsEvent);
    let next = 0;
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: options.concurrency ?? 8 }, async () => {
        while (next < events.length) {
          let event = events[next++]!;
          // A message handed back (a rate wait whose token's second had passed on the shared virtual clock) comes
          // again, as SQS would redeliver it: its CPU counts for its coupon.
          for (let delivery = 1; ; delivery++) {
            const result = await run.handler(event);
            if (result.batchItemFailures.length === 0) break;
            if (delivery >= 10) throw new Error("own-code bench: a send was not acknowledged after 10 deliveries");
            const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
            event = sqsEvent(event.Records.filter((r) => failed.has(r.messageId)).map((r) => r.body));
          }
        }
      }),
    );
    const used = process.cpuUsage(cpu0);
    return (used.user + used.system) / 1000;
  };
  await campaign("owarm", warmup);
  const cpuMs = await campaign("obench", options.coupons);
  return { coupons: options.coupons, cpuMsPerCoupon: cpuMs / options.coupons, sent: (await run.sent()) - warmup };
}

function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

let messageNo = 0;
/** The SQS event Lambda's event source would deliver for these bodies (first receive). */
export function sqsEvent(bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((Body) => {
      messageNo += 1;
      return toRecord(
        { MessageId: `m-${messageNo}`, ReceiptHandle: `r-${messageNo}`, Body },
        "arn:aws:sqs:bench",
        "local",
      );
    }),
  };
}
