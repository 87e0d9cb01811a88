import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { SIGNATURE_HEADER, verifySignature } from "#shared/domain/events/forwarding.js";
import { couponEventsReader, type DeliveredEvent } from "../../helpers/coupon-events.js";
import { eventSchemaValidator } from "../../helpers/event-schemas.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";
import { deliverNotification, signedNotification } from "../../helpers/wechat-notification.js";

type Delivered = DeliveredEvent;

let stack: LocalStack;
let stockId: string;
const schemas = eventSchemaValidator();
const { received, drain, ofType, settled } = couponEventsReader(() => stack);

/** Consumers outside AWS: one that verifies and keeps what it gets, one that always answers 503. */
const consumed: { body: Delivered; verified: boolean }[] = [];
let brokenAttempts = 0;
let consumer: Server;
async function startConsumer(): Promise<string> {
  consumer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      if (req.url === "/broken") {
        brokenAttempts += 1;
        res.statusCode = 503;
        return res.end();
      }
      const header = String(req.headers[SIGNATURE_HEADER] ?? "");
      const verified = verifySignature(stack.eventSigningSecret, header, raw, Math.floor(Date.now() / 1000));
      consumed.push({ body: JSON.parse(raw) as Delivered, verified });
      res.statusCode = verified ? 204 : 401;
      res.end();
    });
  });
  await new Promise<void>((r) => consumer.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(consumer.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const base = await startConsumer();
  stack = await startTestStack({
    eventForwardUrls: [`${base}/hook`, `${base}/broken`],
    forwardRetryDelaysSeconds: [1, 1],
  });
  stockId = await runningStock(stack, "it-events-stock");
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  consumer?.close();
});

describe("events: table stream → publisher → bus → coupon-events queue (docs/events.md)", () => {
  it("a campaign publishes coupon.sent once per coupon and campaign.completed once, each matching its schema", async () => {
    const openids = ["o-ev-a", "o-ev-b", "o-ev-c"];
    const posted = await callApi<{ campaign_id: string }>(stack, "POST", "/campaigns", { stock_id: stockId, openids });
    expect(posted.status).toBe(202);
    const campaignId = posted.body.campaign_id;
    await expect
      .poll(async () => (await callApi(stack, "GET", `/campaigns/${campaignId}`)).body.state, {
        timeout: 60_000,
        interval: 250,
      })
      .toBe("COMPLETED");
    await expect
      .poll(
        async () => {
          await drain();
          return ofType("campaign.completed", ["campaign_id", campaignId]).length;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(1);
    await settled();
    const sent = ofType("coupon.sent", ["campaign_id", campaignId]);
    expect(sent.map((e) => e.detail.openid).sort()).toEqual(openids);
    expect(new Set(sent.map((e) => e.detail.event_id)).size).toBe(3);
    expect(ofType("campaign.completed", ["campaign_id", campaignId])[0]!.detail).toMatchObject({
      total: 3,
      sent: 3,
      failed: 0,
    });
    for (const event of received) {
      expect(event.source).toBe("wxcoupon");
      expect(schemas.errors(event), event["detail-type"]).toEqual([]);
    }
  }, 120_000);

  it("a COUPON.USE publishes coupon.used once, however often WeChat delivers it", async () => {
    const issued = await callApi<{ coupon_id: string }>(stack, "POST", "/coupons", {
      stock_id: stockId,
      openid: "o-ev-use",
      out_request_no: "it-events-use-1",
    });
    expect(issued.status).toBe(200);
    const couponId = issued.body.coupon_id;
    // WeChat's own COUPON.USE (the simulator signs and delivers it to the webhook, with its retries).
    await fetch(`${stack.simulatorUrl}/_simulator/coupons/${couponId}/use`, { method: "POST", body: "{}" });
    await expect
      .poll(
        async () => {
          await drain();
          return ofType("coupon.used", ["coupon_id", couponId]).length;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBe(1);
    // The same notification again, twice: stored once, the coupon already USED, no second event.
    const again = signedNotification(stack, { id: "EV-events-repeat", couponId, stockId });
    for (let i = 0; i < 2; i++) expect((await deliverNotification(stack, again)).status).toBe(204);
    await settled();
    expect(ofType("coupon.used", ["coupon_id", couponId])).toHaveLength(1);
    expect(ofType("coupon.sent", ["coupon_id", couponId])).toHaveLength(1);
    const [used] = ofType("coupon.used", ["coupon_id", couponId]);
    expect(used!.detail).toMatchObject({ state: "USED", openid: "o-ev-use", issued_by_service: true });
    expect(schemas.errors(used!)).toEqual([]);
  }, 60_000);

  it("forwards each event, signed, to the HTTP consumer once; the failing consumer gets 3 attempts then a dead-letter record", async () => {
    // Everything the queue got, the consumer got too, verified: coupon.sent and coupon.used once each by event_id.
    await expect
      .poll(() => consumed.length, { timeout: 30_000, interval: 250 })
      .toBeGreaterThanOrEqual(received.length);
    expect(consumed.every((c) => c.verified)).toBe(true);
    const ids = (type: string) =>
      consumed.filter((c) => c.body["detail-type"] === type).map((c) => c.body.detail.event_id);
    for (const type of ["coupon.sent", "coupon.used", "campaign.completed"]) {
      expect(ids(type).sort(), type).toEqual(
        ofType(type)
          .map((e) => e.detail.event_id)
          .sort(),
      );
      expect(new Set(ids(type)).size, type).toBe(ids(type).length);
    }
    // The broken endpoint: attempts 1..3 for each event (retry delays [1, 1]), then one dead-letter record each.
    const { sqs, queues } = stack.emulators;
    const records: { endpoint: string; attempts: number; last_status: number; event_id: string }[] = [];
    await expect
      .poll(
        async () => {
          const page = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: queues.forwardDlq.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
          );
          for (const m of page.Messages ?? []) records.push(JSON.parse(m.Body!));
          return records.length;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(consumed.length);
    expect(records.every((r) => r.endpoint.endsWith("/broken") && r.attempts === 3 && r.last_status === 503)).toBe(
      true,
    );
    expect(records.map((r) => r.event_id).sort()).toEqual(consumed.map((c) => c.body.detail.event_id).sort());
    expect(brokenAttempts).toBe(3 * consumed.length);
  }, 90_000);

  it("POST /webhooks/test sends a signed webhook.test to the HTTP consumers only", async () => {
    const before = consumed.length;
    const sent = await callApi<{ event_id: string }>(stack, "POST", "/webhooks/test", { message: "hello" });
    expect(sent).toMatchObject({ status: 202, body: { detail_type: "webhook.test" } });
    await expect.poll(() => consumed.length, { timeout: 20_000, interval: 250 }).toBe(before + 1);
    expect(consumed.at(-1)).toMatchObject({
      verified: true,
      body: {
        "detail-type": "webhook.test",
        source: "wxcoupon",
        detail: { event_id: sent.body.event_id, message: "hello" },
      },
    });
    await settled();
    expect(ofType("webhook.test")).toHaveLength(0);
    // Bad input: 400 naming the field, nothing queued; only admins may send (the send token is refused).
    const bad = await callApi(stack, "POST", "/webhooks/test", { message: 42 });
    expect(bad).toMatchObject({ status: 400, body: { field: "message" } });
    const asSender = await fetch(`${stack.apiUrl}/webhooks/test`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.sendToken}` },
    });
    expect(asSender.status).toBe(403);
  }, 60_000);
});

describe("publication is off the webhook's path and never drops a recorded change", () => {
  let denied: LocalStack;
  beforeAll(async () => {
    // The publisher's role without events:PutEvents: every publication fails (AccessDenied) until it is fixed.
    denied = await startTestStack({
      templateOverride: (model) => {
        const publisher = model.functions["events-publisher"]!;
        publisher.statements = publisher.statements.filter(
          (s) => !JSON.stringify(s.Action ?? "").includes("events:PutEvents"),
        );
        return model;
      },
    });
  }, 60_000);
  afterAll(async () => denied?.stop());

  it("the webhook acknowledges while the bus refuses; the stream keeps retrying and nothing is dead-lettered", async () => {
    const stock = await runningStock(denied, "it-events-denied-stock");
    const issued = await callApi<{ coupon_id: string }>(denied, "POST", "/coupons", {
      stock_id: stock,
      openid: "o-ev-denied",
      out_request_no: "it-events-denied-1",
    });
    const couponId = issued.body.coupon_id;
    const before = denied.events.stream!.invocations;
    const response = await deliverNotification(
      denied,
      signedNotification(denied, { id: "EV-denied", couponId, stockId: stock }),
    );
    expect(response.status).toBe(204);
    expect((await callApi(denied, "GET", `/coupons/${couponId}`)).body).toMatchObject({ state: "USED" });
    // The change is held in the stream and retried (more invocations), never published, never dropped.
    await expect.poll(() => denied.events.stream!.invocations, { timeout: 20_000 }).toBeGreaterThan(before + 2);
    expect(denied.events.bus.accepted).toHaveLength(0);
    const { sqs, queues } = denied.emulators;
    const dlq = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.streamFailureDlq.url, WaitTimeSeconds: 0 }),
    );
    expect(dlq.Messages ?? []).toHaveLength(0);
  }, 90_000);
});
