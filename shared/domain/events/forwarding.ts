import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signed HTTP forwarding of bus events to consumers outside AWS (docs/events.md#signed-http-forwarding), in the shape
 * payment providers use for their webhooks: the header `Wxcoupon-Signature: t=<unix seconds>,v1=<hex>` where `v1` is
 * HMAC-SHA256 with the endpoint secret over `<t>.<raw body>`. A consumer recomputes it over the raw body, compares in
 * constant time, and refuses a `t` too far from its clock (replays).
 */
export const SIGNATURE_HEADER = "wxcoupon-signature";
export const EVENT_ID_HEADER = "wxcoupon-event-id";

export function signPayload(secret: string, timestampSeconds: number, body: string): string {
  const v1 = createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
  return `t=${timestampSeconds},v1=${v1}`;
}

/** What a consumer does (and the tests): true only for a fresh, untampered body signed with `secret`. */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = new Map(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const v1 = parts.get("v1") ?? "";
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = signPayload(secret, t, body).split("v1=")[1]!;
  return timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(v1, "hex"));
}

/** A delivery still owed to one endpoint: the event as the bus delivered it, and the attempt it is about to make. */
export interface PendingDelivery {
  endpoint: string;
  attempt: number;
  /** The EventBridge event, as JSON text (signed as is). */
  body: string;
  eventId: string;
}

export interface DeliveryResult {
  ok: boolean;
  /** HTTP status, when one came back. */
  status?: number;
  error?: string;
}

export interface ForwardingDependencies {
  endpoints: readonly string[];
  /** Loads the signing secret (Secrets Manager, cached); never logged. */
  signingSecret: () => Promise<string>;
  post: (url: string, body: string, headers: Record<string, string>) => Promise<DeliveryResult>;
  /** Queues the next attempt of one endpoint's delivery after `delaySeconds`. */
  retryLater: (delivery: PendingDelivery, delaySeconds: number) => Promise<void>;
  /** The dead-letter record after the last attempt. */
  deadLetter: (delivery: PendingDelivery, last: DeliveryResult) => Promise<void>;
  /** Seconds to wait before attempt 2, 3, …: its length + 1 is the number of attempts. */
  retryDelaysSeconds: readonly number[];
  nowSeconds: () => number;
}

/**
 * Delivers an event to every endpoint (a first delivery) or to the one endpoint a retry names. Each endpoint has its
 * own attempts: a failing one is retried later alone, with back-off, and dead-lettered after its last attempt, so a
 * healthy endpoint is neither delayed nor sent the event again. Throws only when a retry or a dead-letter record
 * could not be written (the caller then leaves the message on its queue).
 */
export async function forwardEvent(
  deps: ForwardingDependencies,
  delivery: { kind: "first"; body: string; eventId: string } | { kind: "retry"; pending: PendingDelivery },
): Promise<DeliveryResult[]> {
  const pending: PendingDelivery[] =
    delivery.kind === "first"
      ? deps.endpoints.map((endpoint) => ({ endpoint, attempt: 1, body: delivery.body, eventId: delivery.eventId }))
      : [delivery.pending];
  const secret = pending.length === 0 ? "" : await deps.signingSecret();
  return Promise.all(
    pending.map(async (p) => {
      // A retry names its endpoint; one no longer configured (removed since, or a message not queued by this
      // function) is never signed for nor posted to: the record goes to the dead letters for an operator.
      if (!deps.endpoints.includes(p.endpoint)) {
        const refused: DeliveryResult = { ok: false, error: "endpoint is not configured (FORWARD_URLS)" };
        await deps.deadLetter(p, refused);
        return refused;
      }
      const headers = {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: signPayload(secret, deps.nowSeconds(), p.body),
        [EVENT_ID_HEADER]: p.eventId,
      };
      const result = await deps
        .post(p.endpoint, p.body, headers)
        .catch((error: unknown): DeliveryResult => ({ ok: false, error: (error as Error).message }));
      if (result.ok) return result;
      const delay = deps.retryDelaysSeconds[p.attempt - 1];
      if (delay === undefined) await deps.deadLetter(p, result);
      else await deps.retryLater({ ...p, attempt: p.attempt + 1 }, delay);
      return result;
    }),
  );
}

/** The detail-type of a test send (`POST /webhooks/test`): delivered to the forwarder's consumers only. */
export const TEST_DETAIL_TYPE = "webhook.test";

/** Queues a test event for the HTTP consumers, shaped as the bus delivers events (docs/events.md#signed-http-forwarding). */
export interface TestEventSink {
  send(test: { eventId: string; time: number; message: string }): Promise<void>;
}
