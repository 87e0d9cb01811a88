import { setTimeout as sleep } from "node:timers/promises";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeSendMessage } from "#shared/adapters/sqs/message-codec.js";
import { auditCampaign, auditFaults, HEALTHY_AUDIT, waitForCampaign } from "../helpers/campaign-audit.js";
import { callApi, runningStock } from "../helpers/local-stack-client.js";
import { queueDepth } from "../helpers/queue-depth.js";
import { couponsPerKey, duplicateCoupons } from "../helpers/simulator-control.js";
import { deliverNotification, signatureHeaders, signedNotification } from "../helpers/wechat-notification.js";
import { campaignTimeoutMs, SIZES } from "./support/scale.js";
import { itLeaksNoSecret, useReliabilityStack } from "./support/stack.js";
import { record } from "./support/tally.js";

const GROUP = "Duplicates";
const env = useReliabilityStack({ wechatTimeoutMs: 1_000, sendVisibilityTimeoutSeconds: 5, workerConcurrency: 4 });
let stockId: string;

beforeAll(async () => {
  stockId = await runningStock(env.stack, "rel-dup-stock", { perUser: 60 });
}, 60_000);

const shuffle = <T>(items: T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

describe("duplicates: one coupon per out_request_no however often it is asked for", () => {
  it("issues one coupon per key for concurrent identical and conflicting sends, and answers each caller consistently", async (context) => {
    const { stack } = env;
    const requests = Array.from({ length: SIZES.duplicateKeys }, (_, k) => {
      const key = `rel-dup-${k}`;
      return [
        ...Array.from({ length: SIZES.identicalSends }, () => ({ key, openid: `o-dup-${k}` })),
        ...Array.from({ length: SIZES.conflictingSends }, (_, m) => ({ key, openid: `o-dup-${k}-other-${m}` })),
      ];
    }).flat();
    const answers = await Promise.all(
      shuffle(requests).map(async (r) => ({
        ...r,
        response: await callApi<{ coupon_id?: string; code?: string }>(stack, "POST", "/coupons", {
          stock_id: stockId,
          openid: r.openid,
          out_request_no: r.key,
        }),
      })),
    );
    const counts = couponsPerKey(
      stack,
      requests.map((r) => r.key),
    );
    const fiveXx = answers.filter((a) => a.response.status >= 500);
    const problems: string[] = [];
    let lost = 0;
    for (let k = 0; k < SIZES.duplicateKeys; k++) {
      const key = `rel-dup-${k}`;
      const [coupon, ...extra] = stack.simulator.ledger().filter((c) => c.out_request_no === key);
      if (!coupon) {
        lost++;
        problems.push(`${key}: no coupon`);
        continue;
      }
      if (extra.length) problems.push(`${key}: ${extra.length + 1} coupons`);
      for (const a of answers.filter((x) => x.key === key)) {
        const winner = a.openid === coupon.openid;
        const { status, body } = a.response;
        // The request that matches the issued coupon is a replay (200, same coupon); any other one is a conflict.
        if (winner && !(status === 200 && body.coupon_id === coupon.coupon_id))
          problems.push(`${key} ${a.openid}: ${status} ${JSON.stringify(body)} (expected 200 ${coupon.coupon_id})`);
        if (!winner && !(status === 409 && body.code === "OUT_REQUEST_NO_CONFLICT"))
          problems.push(`${key} ${a.openid}: ${status} ${JSON.stringify(body)} (expected 409 conflict)`);
      }
    }
    record(context, {
      group: GROUP,
      cases: answers.length,
      duplicates: duplicateCoupons(counts),
      lost,
      fiveXx: fiveXx.length,
    });
    expect(problems.slice(0, 10)).toEqual([]);
    expect(duplicateCoupons(counts)).toBe(0);
    expect(counts.size).toBe(SIZES.duplicateKeys);
  }, 120_000);

  it("sends a campaign posted several times at once exactly once per recipient", async (context) => {
    const { stack } = env;
    const openids = Array.from({ length: SIZES.repostRecipients }, (_, i) => `o-repost-${i}`);
    const body = { stock_id: stockId, openids, rate_per_second: 400 };
    const posts = await Promise.all(
      Array.from({ length: SIZES.repostCopies }, () =>
        callApi<{ campaign_id: string; replayed: boolean; total: number }>(stack, "POST", "/campaigns", body),
      ),
    );
    expect(posts.map((p) => p.status)).toEqual(posts.map(() => 202));
    const ids = new Set(posts.map((p) => p.body.campaign_id));
    expect(ids.size).toBe(1);
    expect(posts.filter((p) => !p.body.replayed)).toHaveLength(1);
    // The same caller-chosen id with another recipient list is a conflict, not a second campaign.
    const [campaignId] = [...ids] as [string];
    const conflicting = await callApi(stack, "POST", "/campaigns", {
      ...body,
      campaign_id: campaignId,
      openids: [...openids.slice(1), "o-repost-intruder"],
    });
    expect(conflicting.status).toBe(409);

    const view = await waitForCampaign(stack, campaignId, campaignTimeoutMs(openids.length));
    const audit = await auditCampaign(stack, view, openids);
    record(context, {
      group: GROUP,
      cases: posts.length + 1,
      duplicates: audit.duplicates,
      lost: audit.unfinished + audit.sentWithoutCoupon,
      fiveXx: posts.filter((p) => p.status >= 500).length,
    });
    expect(auditFaults(audit), audit.problems.join("\n")).toEqual(HEALTHY_AUDIT);
    expect(view).toMatchObject({ total: openids.length, sent: openids.length, failed: 0 });
    expect(stack.simulator.ledger().filter((c) => c.openid === "o-repost-intruder")).toHaveLength(0);
  }, 180_000);

  it("sends once per key when the send queue delivers the same message several times (no record beforehand)", async (context) => {
    const { stack } = env;
    const { sqs } = stack.emulators;
    const queueUrl = stack.emulators.env.SEND_QUEUE_URL;
    const keys = Array.from({ length: SIZES.redeliveryKeys }, (_, k) => `rel-sqs-${k}`);
    const bodies = keys.map((key, k) =>
      encodeSendMessage({ mchid: stack.mchid, outRequestNo: key, stockId, openid: `o-sqs-${k}`, appid: stack.appid }),
    );
    expect(keys.every((k) => !couponsPerKey(stack, [k]).size)).toBe(true);
    const copies = shuffle(bodies.flatMap((b) => Array.from({ length: SIZES.redeliveryCopies }, () => b)));
    for (let i = 0; i < copies.length; i += 10) {
      const entries = copies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody }));
      const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      expect(sent.Failed ?? []).toEqual([]);
    }
    // Drained: every copy processed and deleted (none in flight, none waiting).
    const deadline = Date.now() + 60_000;
    let inQueue = Number.POSITIVE_INFINITY;
    while (Date.now() < deadline) {
      inQueue = await queueDepth(sqs, queueUrl);
      if (inQueue === 0 && couponsPerKey(stack, keys).size === keys.length) break;
      await sleep(250);
    }
    const counts = couponsPerKey(stack, keys);
    record(context, {
      group: GROUP,
      cases: copies.length,
      duplicates: duplicateCoupons(counts),
      lost: keys.length - counts.size,
    });
    expect(inQueue).toBe(0);
    expect(duplicateCoupons(counts)).toBe(0);
    expect(counts.size).toBe(keys.length);
  }, 120_000);

  it("stores each notification once when WeChat delivers it many times, at once and re-signed", async (context) => {
    const { stack } = env;
    let deliveries = 0;
    let fiveXx = 0;
    const statuses: number[] = [];
    const stored: number[] = [];
    for (let n = 0; n < SIZES.notificationIds; n++) {
      const couponId = String(770_000 + n);
      const genuine = signedNotification(stack, { id: `EV-rel-dup-${n}`, couponId, stockId });
      // The same request several times at once, then WeChat's redeliveries: same body, fresh signature headers.
      const concurrent = await Promise.all(
        Array.from({ length: SIZES.notificationDeliveries }, () => deliverNotification(stack, genuine)),
      );
      const sequential: Response[] = [];
      for (let d = 0; d < SIZES.notificationDeliveries; d++)
        sequential.push(
          await deliverNotification(stack, { body: genuine.body, headers: signatureHeaders(stack, genuine.body) }),
        );
      for (const r of [...concurrent, ...sequential]) {
        deliveries++;
        statuses.push(r.status);
        if (r.status >= 500) fiveXx++;
      }
      const events = await callApi<{ data: unknown[] }>(stack, "GET", `/coupons/${couponId}/events`);
      stored.push(events.body.data.length);
    }
    record(context, {
      group: GROUP,
      cases: deliveries,
      duplicates: stored.reduce((s, n) => s + Math.max(0, n - 1), 0),
      lost: stored.filter((n) => n === 0).length,
      fiveXx,
    });
    expect(stored).toEqual(stored.map(() => 1));
    expect(statuses.filter((s) => s !== 204)).toEqual([]);
  }, 120_000);
});

itLeaksNoSecret(env);
