import { describe, expect, it } from "vitest";
import {
  DETAIL_TYPES,
  EVENT_SOURCE,
  eventsForChange,
  type ServiceEvent,
} from "#shared/domain/events/service-events.js";
import type { CampaignRecord, CouponRecord, ReconciliationRecord } from "#shared/domain/ports.js";
import { eventSchemaValidator } from "../../helpers/event-schemas.js";

const T = Date.UTC(2026, 10, 27, 2, 0, 0);
const sent: CouponRecord = {
  couponId: "98674556",
  stockId: "9856000",
  state: "SENT",
  issuedByService: true,
  mchid: "1900000001",
  outRequestNo: "cmp-1-0-o-a",
  openid: "o-a",
  appid: "wx1",
  campaignId: "cmp-1",
  sentAt: T,
  transactionIds: [],
  history: [],
  counted: false,
  createdAt: T,
  updatedAt: T,
};
const used: CouponRecord = {
  ...sent,
  state: "USED",
  usedAt: T + 60_000,
  consumeTime: "2026-11-27T10:01:00+08:00",
  consumeMchid: "1900000001",
  transactionIds: ["4200000000000000000000000001"],
  usedAmount: 500,
  couponAmount: 500,
  updatedAt: T + 61_000,
};
const campaign = (reconciled: boolean): CampaignRecord => ({
  id: "cmp-1",
  requestHash: "h",
  mchid: "1900000001",
  stockId: "9856000",
  appid: "wx1",
  total: 3,
  ratePerSecond: 100,
  createdAt: T,
  control: "RUNNING",
  state: reconciled ? "COMPLETED" : "SENDING",
  chunked: false,
  sealed: true,
  chunksReceived: 1,
  enqueued: 3,
  sent: 2,
  failed: 1,
  cancelled: 0,
  failuresByCode: { NOT_ENOUGH: 1 },
  version: 3,
  reconciled,
  updatedAt: T + 5_000,
});

const run = (status: ReconciliationRecord["status"]): ReconciliationRecord => ({
  id: "rec-9856000",
  stockId: "9856000",
  trigger: "schedule",
  status,
  phase: "expire",
  offset: 2,
  counts: { use_rows: 200, refund_rows: 2, use_recovered: 198, refund_recorded: 2, not_issued: 2, expired: 300 },
  availableAt: T,
  availableEndTime: T - 36_000_000,
  failures: 0,
  ...(status === "RUNNING" ? { leaseUntil: T + 60_000 } : { completedAt: T + 30_000 }),
  createdAt: T,
  updatedAt: status === "RUNNING" ? T + 20_000 : T + 30_000,
});
const recoveredUse: CouponRecord = { ...used, foundBy: "reconciliation" };
const END = T + 30 * 86_400_000;
const expired: CouponRecord = {
  ...sent,
  state: "EXPIRED",
  expiredAt: END,
  availableEndTime: END,
  history: [{ state: "EXPIRED", at: END, source: "reconciliation", reconciliationId: "auto-9856000" }],
  updatedAt: END + 36_000_000,
};

/** The event as EventBridge delivers it (the bus adds the envelope). */
const delivered = (e: ServiceEvent) => ({
  version: "0",
  id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": e.detailType,
  source: EVENT_SOURCE,
  account: "123456789012",
  time: new Date(e.time).toISOString().replace(/\.\d{3}Z$/, "Z"),
  region: "ap-east-1",
  resources: e.resources,
  detail: JSON.parse(JSON.stringify(e.detail)),
});

describe("eventsForChange: one event per transition", () => {
  it("coupon.sent when the coupon gets its send, coupon.used when it becomes USED, nothing on rewrites", () => {
    expect(eventsForChange({ kind: "coupon", after: sent }).map((e) => e.detailType)).toEqual(["coupon.sent"]);
    expect(eventsForChange({ kind: "coupon", before: sent, after: used }).map((e) => e.detailType)).toEqual([
      "coupon.used",
    ]);
    expect(eventsForChange({ kind: "coupon", before: used, after: { ...used, counted: true } })).toEqual([]);
    expect(eventsForChange({ kind: "coupon", before: sent, after: { ...sent, updatedAt: T + 1 } })).toEqual([]);
    expect(eventsForChange({ kind: "coupon", before: used })).toEqual([]);
  });

  it("a use recorded before the send: coupon.used first, coupon.sent when the send's record completes it", () => {
    const { outRequestNo: _o, openid: _p, sentAt: _s, campaignId: _c, mchid: _m, ...bare } = used;
    const early: CouponRecord = { ...bare, issuedByService: false };
    expect(eventsForChange({ kind: "coupon", after: early }).map((e) => e.detailType)).toEqual(["coupon.used"]);
    expect(eventsForChange({ kind: "coupon", before: early, after: used }).map((e) => e.detailType)).toEqual([
      "coupon.sent",
    ]);
  });

  it("gives every delivery of one fact the same event_id, and different facts different ids", () => {
    const a = eventsForChange({ kind: "coupon", before: sent, after: used })[0]!;
    const b = eventsForChange({ kind: "coupon", before: sent, after: { ...used, updatedAt: T + 99 } })[0]!;
    const c = eventsForChange({ kind: "coupon", after: sent })[0]!;
    expect(a.detail.event_id).toBe(b.detail.event_id);
    expect(a.detail.event_id).not.toBe(c.detail.event_id);
  });

  it("a refunded coupon used again: a second coupon.used with its own event_id (consumers keep both uses)", () => {
    const refunded: CouponRecord = { ...used, state: "REFUNDED", refundedAt: T + 3_600_000 };
    const secondUse = T + 7_000_000;
    const usedAgain: CouponRecord = {
      ...refunded,
      state: "USED",
      transactionIds: [...used.transactionIds, "4200000000000000000000000002"],
      usedAmount: 1_000,
      history: [
        { state: "USED", at: used.usedAt!, source: "notification", transactionId: used.transactionIds[0]! },
        { state: "REFUNDED", at: T + 3_600_000, source: "notification" },
        { state: "USED", at: secondUse, source: "notification", transactionId: "4200000000000000000000000002" },
      ],
      updatedAt: T + 7_200_000,
    };
    const first = eventsForChange({ kind: "coupon", before: sent, after: used });
    const second = eventsForChange({ kind: "coupon", before: refunded, after: usedAgain });
    expect(second.map((e) => e.detailType)).toEqual(["coupon.used"]);
    expect(second[0]!.detail.event_id).not.toBe(first[0]!.detail.event_id);
    // It happened at the second use, not at the first (the record's used_at).
    expect(second[0]!.detail.occurred_at).toBe(new Date(secondUse).toISOString());
  });

  it("coupon.refunded when the coupon becomes REFUNDED", () => {
    const refunded: CouponRecord = { ...used, state: "REFUNDED", refundedAt: T + 3_600_000 };
    expect(eventsForChange({ kind: "coupon", before: used, after: refunded }).map((e) => e.detailType)).toEqual([
      "coupon.refunded",
    ]);
  });

  it("coupon.expired once, when an unused coupon becomes EXPIRED, at the stock's end; a later use is coupon.used", () => {
    const events = eventsForChange({ kind: "coupon", before: sent, after: expired });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      detailType: "coupon.expired",
      time: END,
      detail: {
        state: "EXPIRED",
        occurred_at: new Date(END).toISOString(),
        available_end_time: new Date(END).toISOString(),
      },
    });
    const again = eventsForChange({ kind: "coupon", before: sent, after: { ...expired, updatedAt: END + 1 } });
    expect(again[0]!.detail.event_id).toBe(events[0]!.detail.event_id);
    expect(eventsForChange({ kind: "coupon", before: expired, after: { ...expired, updatedAt: END + 2 } })).toEqual([]);
    const foundLater: CouponRecord = { ...used, expiredAt: END, foundBy: "reconciliation" };
    expect(eventsForChange({ kind: "coupon", before: expired, after: foundLater }).map((e) => e.detailType)).toEqual([
      "coupon.used",
    ]);
  });

  it("campaign.completed once, when the campaign's counters become exact", () => {
    const events = eventsForChange({ kind: "campaign", before: campaign(false), after: campaign(true) });
    expect(events.map((e) => e.detailType)).toEqual(["campaign.completed"]);
    expect(events[0]!.detail).toMatchObject({ total: 3, sent: 2, failed: 1, failures_by_code: { NOT_ENOUGH: 1 } });
    expect(eventsForChange({ kind: "campaign", before: campaign(true), after: campaign(true) })).toEqual([]);
    expect(eventsForChange({ kind: "campaign", before: campaign(false), after: campaign(false) })).toEqual([]);
  });

  it("reconciliation.completed once, when a run becomes COMPLETED; none for a FAILED run or a rewrite", () => {
    const events = eventsForChange({ kind: "reconciliation", before: run("RUNNING"), after: run("COMPLETED") });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      detailType: "reconciliation.completed",
      time: T + 30_000,
      resources: ["wxcoupon:reconciliation/rec-9856000", "wxcoupon:stock/9856000"],
      detail: {
        reconciliation_id: "rec-9856000",
        stock_id: "9856000",
        trigger: "schedule",
        occurred_at: new Date(T + 30_000).toISOString(),
        use_rows: 200,
        refund_rows: 2,
        findings: { use_recovered: 198, refund_recorded: 2, not_issued: 2 },
        expired: 300,
      },
    });
    const again = eventsForChange({ kind: "reconciliation", before: run("RUNNING"), after: run("COMPLETED") });
    expect(again[0]!.detail.event_id).toBe(events[0]!.detail.event_id);
    expect(eventsForChange({ kind: "reconciliation", before: run("COMPLETED"), after: run("COMPLETED") })).toEqual([]);
    expect(eventsForChange({ kind: "reconciliation", before: run("RUNNING"), after: run("FAILED") })).toEqual([]);
    expect(eventsForChange({ kind: "reconciliation", after: run("RUNNING") })).toEqual([]);
    expect(eventsForChange({ kind: "reconciliation", before: run("RUNNING"), after: run("RUNNING") })).toEqual([]);
  });

  it("coupon.used says who found the use: found_by reconciliation for a use from the use-flow file", () => {
    const [event] = eventsForChange({ kind: "coupon", before: sent, after: recoveredUse });
    expect(event).toMatchObject({ detailType: "coupon.used", detail: { found_by: "reconciliation" } });
    const refunded: CouponRecord = { ...recoveredUse, state: "REFUNDED", refundedAt: T + 1 };
    const [refund] = eventsForChange({ kind: "coupon", before: recoveredUse, after: refunded });
    expect(refund!.detail).not.toHaveProperty("found_by");
  });
});

describe("the documented schemas (docs/events/*.schema.json)", () => {
  const schemas = eventSchemaValidator();

  it("exist for every detail-type the service defines, and no other", () => {
    expect(schemas.detailTypes).toEqual(Object.values(DETAIL_TYPES).sort());
  });

  it("accept every event the service emits", () => {
    const events = [
      ...eventsForChange({ kind: "coupon", after: sent }),
      ...eventsForChange({ kind: "coupon", before: sent, after: used }),
      ...eventsForChange({
        kind: "coupon",
        before: used,
        after: { ...used, state: "REFUNDED", refundedAt: T + 1 },
      }),
      ...eventsForChange({ kind: "campaign", before: campaign(false), after: campaign(true) }),
      ...eventsForChange({
        kind: "campaign",
        before: { ...campaign(false), control: "CANCELLED" },
        after: { ...campaign(true), control: "CANCELLED" },
      }),
      ...eventsForChange({ kind: "coupon", before: sent, after: recoveredUse }),
      ...eventsForChange({ kind: "coupon", before: sent, after: expired }),
      ...eventsForChange({ kind: "reconciliation", before: run("RUNNING"), after: run("COMPLETED") }),
      ...eventsForChange({
        kind: "reconciliation",
        before: { ...run("RUNNING"), trigger: "request" },
        after: { ...run("COMPLETED"), trigger: "request" },
      }),
    ];
    expect(events).toHaveLength(9);
    expect(new Set(events.map((e) => e.detailType))).toEqual(new Set(Object.values(DETAIL_TYPES)));
    for (const event of events) expect(schemas.errors(delivered(event)), event.detailType).toEqual([]);
  });

  it("refuse an event that breaks them", () => {
    const [event] = eventsForChange({ kind: "coupon", before: sent, after: used });
    const broken = delivered(event!);
    delete (broken.detail as Record<string, unknown>).event_id;
    (broken.detail as Record<string, unknown>).surprise = 1;
    expect(schemas.errors(broken).length).toBeGreaterThanOrEqual(2);
    const [completed] = eventsForChange({ kind: "campaign", before: campaign(false), after: campaign(true) });
    expect(schemas.errors({ ...delivered(completed!), "detail-type": "coupon.used" }).length).toBeGreaterThan(0);
    const [recon] = eventsForChange({ kind: "reconciliation", before: run("RUNNING"), after: run("COMPLETED") });
    const noFindings = delivered(recon!);
    delete (noFindings.detail as { findings?: unknown }).findings;
    expect(schemas.errors(noFindings).length).toBeGreaterThan(0);
  });
});
