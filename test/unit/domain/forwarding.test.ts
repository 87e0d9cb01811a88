import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  type DeliveryResult,
  type ForwardingDependencies,
  forwardEvent,
  type PendingDelivery,
  signPayload,
  verifySignature,
} from "#shared/domain/events/forwarding.js";

const SECRET = "whsec_0123456789abcdef";
const body = JSON.stringify({ "detail-type": "coupon.used", detail: { event_id: "e1" } });

describe("signPayload / verifySignature", () => {
  it("signs t.body with HMAC-SHA256, as Stripe-style consumers verify it", () => {
    const header = signPayload(SECRET, 1_800_000_000, body);
    const expected = createHmac("sha256", SECRET).update(`1800000000.${body}`).digest("hex");
    expect(header).toBe(`t=1800000000,v1=${expected}`);
    expect(verifySignature(SECRET, header, body, 1_800_000_010)).toBe(true);
  });

  it("refuses a tampered body, another secret, a stale timestamp and garbage", () => {
    const header = signPayload(SECRET, 1_800_000_000, body);
    expect(verifySignature(SECRET, header, `${body} `, 1_800_000_000)).toBe(false);
    expect(verifySignature("whsec_another_secret_x", header, body, 1_800_000_000)).toBe(false);
    expect(verifySignature(SECRET, header, body, 1_800_000_301)).toBe(false);
    expect(verifySignature(SECRET, "t=1800000000,v1=zz", body, 1_800_000_000)).toBe(false);
    expect(verifySignature(SECRET, "", body, 1_800_000_000)).toBe(false);
  });
});

function harness(statusOf: (url: string, attempt: number) => number) {
  const posts: { url: string; headers: Record<string, string> }[] = [];
  const retries: { pending: PendingDelivery; delay: number }[] = [];
  const dead: { pending: PendingDelivery; last: DeliveryResult }[] = [];
  const attempts = new Map<string, number>();
  const deps: ForwardingDependencies = {
    endpoints: ["https://a.example/hook", "https://b.example/hook"],
    signingSecret: async () => SECRET,
    post: async (url, _body, headers) => {
      const n = (attempts.get(url) ?? 0) + 1;
      attempts.set(url, n);
      posts.push({ url, headers });
      const status = statusOf(url, n);
      return { ok: status < 300, status };
    },
    retryLater: async (pending, delay) => {
      retries.push({ pending, delay });
    },
    deadLetter: async (pending, last) => {
      dead.push({ pending, last });
    },
    retryDelaysSeconds: [5, 30, 120],
    nowSeconds: () => 1_800_000_000,
  };
  return { deps, posts, retries, dead };
}

describe("forwardEvent", () => {
  it("posts the signed event to every endpoint once; a failing one alone is retried later", async () => {
    const h = harness((url) => (url.includes("b.example") ? 503 : 200));
    await forwardEvent(h.deps, { kind: "first", body, eventId: "e1" });
    expect(h.posts.map((p) => p.url).sort()).toEqual(["https://a.example/hook", "https://b.example/hook"]);
    for (const p of h.posts) {
      expect(p.headers["wxcoupon-event-id"]).toBe("e1");
      expect(verifySignature(SECRET, p.headers["wxcoupon-signature"]!, body, 1_800_000_000)).toBe(true);
    }
    expect(h.retries).toEqual([
      { pending: { endpoint: "https://b.example/hook", attempt: 2, body, eventId: "e1" }, delay: 5 },
    ]);
  });

  it("backs off attempt after attempt, then writes a dead-letter record after the last", async () => {
    const h = harness(() => 500);
    let pending: PendingDelivery = { endpoint: "https://b.example/hook", attempt: 2, body, eventId: "e1" };
    const delays: number[] = [];
    for (;;) {
      const before = h.retries.length;
      await forwardEvent(h.deps, { kind: "retry", pending });
      if (h.retries.length === before) break;
      const next = h.retries[h.retries.length - 1]!;
      delays.push(next.delay);
      pending = next.pending;
    }
    expect(delays).toEqual([30, 120]);
    expect(h.dead).toEqual([{ pending: { ...pending, attempt: 4 }, last: { ok: false, status: 500 } }]);
  });

  it("never signs for an endpoint it is not configured with: such a retry is dead-lettered unsent", async () => {
    const h = harness(() => 200);
    const pending: PendingDelivery = { endpoint: "https://elsewhere.example/x", attempt: 3, body, eventId: "e1" };
    const results = await forwardEvent(h.deps, { kind: "retry", pending });
    expect(h.posts).toEqual([]);
    expect(results).toEqual([{ ok: false, error: "endpoint is not configured (FORWARD_URLS)" }]);
    expect(h.dead).toEqual([{ pending, last: results[0] }]);
  });

  it("lets a failed retry or dead-letter write fail the message, so its queue delivers it again", async () => {
    const h = harness(() => 500);
    h.deps.retryLater = async () => Promise.reject(new Error("queue down"));
    await expect(forwardEvent(h.deps, { kind: "first", body, eventId: "e1" })).rejects.toThrow("queue down");
  });
});
