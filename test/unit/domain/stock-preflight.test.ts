import { beforeEach, describe, expect, it } from "vitest";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import {
  campaignStatus,
  changeCampaignControl,
  type LifecycleDependencies,
} from "#shared/domain/campaigns/campaign-lifecycle.js";
import { createCampaign, openCampaign } from "#shared/domain/campaigns/create-campaign.js";
import {
  processSendBatch,
  type QueuedSend,
  type WorkerDependencies,
} from "#shared/domain/campaigns/process-send-batch.js";
import { StockUnavailableError } from "#shared/domain/errors.js";
import { GatewayError, type StockInfo } from "#shared/domain/gateway.js";
import { sendCoupon } from "#shared/domain/sends/send-coupon.js";
import { StockHoldError, stockHoldFor, stockProblem } from "#shared/domain/stocks/stock-check.js";
import { FakeCouponGateway, refused, unavailable } from "../../helpers/fake-coupon-gateway.js";
import { memoryWorkerDependencies } from "../../helpers/memory-send-dependencies.js";

const MCHID = "1900000001";
const STOCK = "9856000";
const HOUR = 3_600_000;

let now = 1_800_000_000_000;
let gateway: FakeCouponGateway;
let deps: WorkerDependencies;
let queue: MemorySendQueue;
let lifecycle: LifecycleDependencies;

const stock = (overrides: Partial<StockInfo> = {}): StockInfo => ({
  stockId: STOCK,
  creatorMchid: MCHID,
  status: "running",
  beginMs: now - HOUR,
  endMs: now + 24 * HOUR,
  maxCoupons: 100,
  distributedCoupons: 0,
  ...overrides,
});
const setStock = (overrides: Partial<StockInfo> = {}) => gateway.stocks.set(STOCK, stock(overrides));

beforeEach(() => {
  now = 1_800_000_000_000;
  gateway = new FakeCouponGateway();
  gateway.now = () => now;
  queue = new MemorySendQueue();
  deps = memoryWorkerDependencies(
    gateway,
    () => now,
    (ms) => {
      now += ms;
    },
  );
  lifecycle = {
    campaigns: deps.campaigns,
    ledger: deps.ledger,
    clock: () => now,
    gateway,
    settleMs: 0,
    sleep: async () => {},
  };
  setStock();
});

const campaignDeps = () => ({ campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway });

function create(openids: string[], options: { startAt?: number; campaignId?: string } = {}) {
  return createCampaign(campaignDeps(), {
    mchid: MCHID,
    stockId: STOCK,
    appid: "wx-app",
    openids,
    ratePerSecond: 100,
    ...options,
  });
}

const drain = (receiveCount = 1): QueuedSend[] =>
  queue.drain().map((message, i) => ({ messageId: `m${i}`, body: JSON.stringify(message), receiveCount }));
const again = (batch: QueuedSend[], receiveCount: number) => batch.map((m) => ({ ...m, receiveCount }));
/** WeChat's answer (S4) to a send of a stock that is not running or outside its window. */
const notActive = () => new GatewayError("refused", "INVALID_REQUEST", "活动已结束或未激活", 400);

describe("stockProblem", () => {
  const target = { mchid: MCHID, stockId: STOCK, recipients: 10 };
  it.each([
    ["a running stock in its window with budget", {}, {}, undefined],
    ["another merchant's stock", { creatorMchid: "1900000002" }, {}, "STOCK_NOT_OWNED"],
    ["a paused stock", { status: "paused" }, {}, "STOCK_NOT_RUNNING"],
    ["a stopped stock", { status: "stoped" }, {}, "STOCK_NOT_RUNNING"],
    ["a paused stock, even for a scheduled campaign", { status: "paused" }, { startAt: HOUR }, "STOCK_NOT_RUNNING"],
    ["a stock never started, for a campaign sending now", { status: "unactivated" }, {}, "STOCK_NOT_RUNNING"],
    ["a stock never started, for a scheduled campaign", { status: "unactivated" }, { startAt: HOUR }, undefined],
    ["a stock that ended", { endMs: () => now - 1 }, {}, "STOCK_EXPIRED"],
    ["a stock that ends before start_at", { endMs: () => now + HOUR }, { startAt: 2 * HOUR }, "STOCK_EXPIRED"],
    ["a stock that begins later", { beginMs: () => now + HOUR }, {}, "STOCK_NOT_STARTED"],
    ["a stock that begins after start_at", { beginMs: () => now + 2 * HOUR }, { startAt: HOUR }, "STOCK_NOT_STARTED"],
    ["a stock that begins at start_at", { beginMs: () => now + HOUR }, { startAt: HOUR }, undefined],
    ["a stock with fewer coupons left than recipients", { distributedCoupons: 91 }, {}, "STOCK_BUDGET_INSUFFICIENT"],
    ["a stock with exactly the coupons left", { distributedCoupons: 90 }, {}, undefined],
    ["a stock without a count budget", { maxCoupons: undefined }, {}, undefined],
  ] as const)("%s", (_, fields, when, code) => {
    const resolved = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, typeof v === "function" ? (v as () => number)() : v]),
    ) as Partial<StockInfo>;
    const s = stock(resolved);
    if ("maxCoupons" in resolved && resolved.maxCoupons === undefined) delete s.maxCoupons;
    const startAt = "startAt" in when ? { startAt: now + when.startAt } : {};
    expect(stockProblem(s, { ...target, ...startAt }, now)?.code).toBe(code);
  });

  it("asks for at least one coupon left while the recipients are not known (an open chunked campaign)", () => {
    const target = { mchid: MCHID, stockId: STOCK };
    expect(stockProblem(stock({ distributedCoupons: 99 }), target, now)).toBeUndefined();
    expect(stockProblem(stock({ distributedCoupons: 100 }), target, now)?.code).toBe("STOCK_BUDGET_INSUFFICIENT");
  });
});

describe("pre-flight of a new campaign", () => {
  it("refuses a missing or another merchant's stock with STOCK_NOT_FOUND, storing and queueing nothing", async () => {
    gateway.stocks.set(STOCK, stock({ creatorMchid: "1900000002" })); // E8 as this merchant: 404
    const refusal = await create(["a"]).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StockUnavailableError);
    expect(refusal).toMatchObject({ code: "STOCK_NOT_FOUND", field: "stock_id" });
    expect((refusal as Error).message).toContain(STOCK);
    expect(queue.drain()).toEqual([]);
    expect((await deps.campaigns.list({ mchid: MCHID, limit: 10 })).items).toEqual([]);
  });

  it("refuses a paused stock, and a one-shot campaign larger than the budget left", async () => {
    setStock({ status: "paused" });
    await expect(create(["a"])).rejects.toMatchObject({ code: "STOCK_NOT_RUNNING", field: "stock_id" });
    setStock({ maxCoupons: 5, distributedCoupons: 3 });
    await expect(create(["a", "b", "c"])).rejects.toMatchObject({ code: "STOCK_BUDGET_INSUFFICIENT" });
    // Duplicates do not count: two distinct recipients fit.
    expect((await create(["a", "b", "a"])).campaign.total).toBe(2);
  });

  it("checks an open chunked campaign for what is known: any budget left", async () => {
    setStock({ maxCoupons: 5, distributedCoupons: 5 });
    const open = () =>
      openCampaign(campaignDeps(), {
        mchid: MCHID,
        stockId: STOCK,
        appid: "wx-app",
        ratePerSecond: 10,
        campaignId: "c",
      });
    await expect(open()).rejects.toMatchObject({ code: "STOCK_BUDGET_INSUFFICIENT" });
    setStock({ maxCoupons: 5, distributedCoupons: 4 });
    expect((await open()).replayed).toBe(false);
  });

  it("accepts a stock that begins later only for a campaign scheduled at or after its begin time", async () => {
    setStock({ beginMs: now + HOUR, status: "unactivated" });
    await expect(create(["a"])).rejects.toMatchObject({ code: "STOCK_NOT_RUNNING" });
    setStock({ beginMs: now + HOUR });
    await expect(create(["a"])).rejects.toMatchObject({ code: "STOCK_NOT_STARTED" });
    await expect(create(["a"], { startAt: now + HOUR - 1 })).rejects.toMatchObject({ code: "STOCK_NOT_STARTED" });
    expect((await create(["a"], { startAt: now + HOUR })).campaign.startAt).toBe(now + HOUR);
  });

  it("answers a replay as stored without asking WeChat, even once the stock stopped serving", async () => {
    const first = await create(["a", "b"]);
    const queries = gateway.stockQueries;
    setStock({ status: "paused" });
    const replay = await create(["a", "b"]);
    expect(replay).toMatchObject({ replayed: true, campaign: { id: first.campaign.id } });
    expect(gateway.stockQueries).toBe(queries);
  });

  it("passes a WeChat failure of the stock query on as retryable, never as a refusal", async () => {
    gateway.stockFailures.push(unavailable());
    const failure = await create(["a"]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(GatewayError);
    expect(failure).toMatchObject({ kind: "retryable" });
    expect(queue.drain()).toEqual([]);
    expect((await create(["a"])).replayed).toBe(false); // nothing was stored: the retry creates it
  });
});

describe("a stock that stops serving mid-campaign", () => {
  it("pauses the campaign (stock_not_running) on the refusal, holds the rest unsent; resume checks the stock", async () => {
    const { campaign } = await create(["a", "b", "c", "d"]);
    const [first, ...rest] = drain();
    expect((await processSendBatch(deps, [first!])).outcomes[0]?.outcome.status).toBe("SENT");

    // An operator pauses the stock: WeChat refuses every send (S4).
    setStock({ status: "paused" });
    gateway.failures.push(notActive(), notActive(), notActive());
    const queries = gateway.stockQueries;
    const result = await processSendBatch(deps, rest);
    expect(gateway.stockQueries - queries).toBe(1); // the batch's three refusals asked WeChat for the stock once
    // Sends to different users run in parallel: each refused one is held (none recorded final) and paused it.
    expect(result.failures).toEqual([]);
    expect(result.held.map((h) => h.reason)).toEqual(["paused", "paused", "paused"]);
    // Once paused, the messages come back and are held without calling WeChat.
    const calls = gateway.calls;
    const heldAgain = await processSendBatch(deps, again(rest, 2));
    expect(gateway.calls).toBe(calls);
    expect(heldAgain.held).toHaveLength(3);
    const paused = (await deps.campaigns.get(campaign.id))!;
    expect(paused).toMatchObject({ control: "PAUSED", controlReason: "stock_not_running", sent: 1, failed: 0 });
    expect(campaignStatus(paused, now)).toEqual({ state: "PAUSED", reason: "stock_not_running" });
    const refusedSends = (await deps.ledger.listByCampaign(campaign.id)).items.filter((r) => r.state === "PENDING");
    expect(refusedSends).toHaveLength(3);
    for (const r of refusedSends) {
      expect(r).toMatchObject({ errorCode: "STOCK_NOT_RUNNING" });
      expect(r.uncertain).toBeUndefined();
    }

    // Resume checks the stock again: still paused, so the campaign stays paused with its reason.
    await expect(changeCampaignControl(lifecycle, campaign.id, "resume")).rejects.toMatchObject({
      code: "STOCK_NOT_RUNNING",
      field: "stock_id",
    });
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ controlReason: "stock_not_running" });

    setStock({ status: "running", distributedCoupons: 1 });
    const resumed = await changeCampaignControl(lifecycle, campaign.id, "resume");
    expect(resumed.changed).toBe(true);
    expect(resumed.campaign.controlReason).toBeUndefined();
    await processSendBatch(deps, again(rest, 3));
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ state: "COMPLETED", sent: 4, failed: 0 });
    expect(gateway.issued.size).toBe(4);
  });

  it("refuses to resume when the budget left is below the recipients not yet sent", async () => {
    const { campaign } = await create(["a", "b", "c"]);
    await changeCampaignControl(lifecycle, campaign.id, "pause");
    setStock({ maxCoupons: 100, distributedCoupons: 98 });
    await expect(changeCampaignControl(lifecycle, campaign.id, "resume")).rejects.toMatchObject({
      code: "STOCK_BUDGET_INSUFFICIENT",
    });
    setStock({ maxCoupons: 100, distributedCoupons: 97 });
    expect((await changeCampaignControl(lifecycle, campaign.id, "resume")).changed).toBe(true);
  });

  it("records an INVALID_REQUEST final when the stock is serving: the refusal is the recipient's (S3)", async () => {
    const { campaign } = await create(["a"]);
    gateway.failures.push(new GatewayError("refused", "INVALID_REQUEST", "openid与appID不匹配", 400));
    await processSendBatch(deps, drain());
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "RUNNING",
      failed: 1,
      failuresByCode: { INVALID_REQUEST: 1 },
      state: "COMPLETED",
    });
  });

  it("pauses on NOT_ENOUGH with budget left (stock_budget_exhausted), records it final once the budget is used up", async () => {
    const { campaign } = await create(["a", "b"]);
    const [a, b] = drain();
    setStock({ maxCoupons: 100, distributedCoupons: 40 }); // a daily budget, or WeChat's early exhaustion
    gateway.failures.push(refused("NOT_ENOUGH"));
    await processSendBatch(deps, [a!]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "PAUSED",
      controlReason: "stock_budget_exhausted",
      failed: 0,
    });

    await changeCampaignControl(lifecycle, campaign.id, "resume");
    setStock({ maxCoupons: 100, distributedCoupons: 100 });
    gateway.failures.push(refused("NOT_ENOUGH"), refused("NOT_ENOUGH"));
    await processSendBatch(deps, [{ ...a!, receiveCount: 2 }, b!]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "RUNNING",
      failed: 2,
      failuresByCode: { NOT_ENOUGH: 2 },
      state: "COMPLETED",
    });
  });

  it("holds a send refused before the stock's begin time until then, without pausing the campaign", async () => {
    const { campaign } = await create(["a"]);
    setStock({ beginMs: now + 90_500 }); // e.g. WeChat's clock behind ours at a begin time
    gateway.failures.push(notActive());
    const result = await processSendBatch(deps, drain());
    expect(result.held.map((h) => [h.reason, h.delaySeconds])).toEqual([["stock_not_started", 91]]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ control: "RUNNING", failed: 0, sent: 0 });
  });

  it("retries, never final and not uncertain, when the stock cannot be read after a refusal", async () => {
    const { campaign } = await create(["a"]);
    gateway.failures.push(notActive());
    gateway.stockFailures.push(unavailable());
    const result = await processSendBatch(deps, drain());
    expect(result.outcomes[0]?.outcome).toMatchObject({ status: "RETRY", code: "SYSTEM_ERROR" });
    expect(result.held).toEqual([]);
    const record = (await deps.ledger.listByCampaign(campaign.id)).items[0];
    expect(record).toMatchObject({ state: "PENDING" });
    expect(record?.uncertain).toBeUndefined();
  });

  it("withdraws a held send when its campaign is cancelled, and finishes one whose lost answer may have issued it", async () => {
    const { campaign } = await create(["a", "b"]);
    const [a, b] = drain();
    gateway.lostAnswers = 1; // a's coupon is issued, the answer lost: uncertain
    await processSendBatch(deps, [a!]);
    setStock({ status: "paused" });
    gateway.failures.push(notActive(), notActive());
    await processSendBatch(deps, [{ ...a!, receiveCount: 2 }, b!]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ controlReason: "stock_not_running" });

    await changeCampaignControl(lifecycle, campaign.id, "cancel");
    gateway.failures.push(notActive(), notActive()); // the stock is still paused
    await processSendBatch(deps, [
      { ...a!, receiveCount: 3 },
      { ...b!, receiveCount: 2 },
    ]);
    const byOpenid = new Map((await deps.ledger.listByCampaign(campaign.id)).items.map((r) => [r.openid, r]));
    // a: WeChat holds its coupon (E12): SENT with that coupon_id. b: every call of it was refused (WeChat issued
    // nothing): withdrawn like a send never started, without calling WeChat after the cancel.
    expect(byOpenid.get("a")).toMatchObject({
      state: "SENT",
      couponId: gateway.issued.values().next().value?.couponId,
    });
    expect(byOpenid.get("b")).toMatchObject({ state: "CANCELLED", attempts: 1 });
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      state: "COMPLETED",
      sent: 1,
      failed: 0,
      cancelled: 1,
    });
  });
});

describe("POST /coupons' send path", () => {
  it("records a send SENT with WeChat's coupon when a lost answer is followed by a refusal for the stock", async () => {
    const command = {
      mchid: MCHID,
      outRequestNo: "one-off-lost",
      stockId: STOCK,
      openid: "o2",
      appid: "wx-app",
      stockCreatorMchid: MCHID,
    };
    gateway.lostAnswers = 1;
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "RETRY" });
    setStock({ status: "paused" });
    gateway.failures.push(notActive());
    const outcome = await sendCoupon(deps, command);
    expect(outcome).toMatchObject({
      status: "SENT",
      record: { couponId: gateway.issued.get("one-off-lost")?.couponId },
    });
    expect(outcome).not.toHaveProperty("hold");
  });

  it("holds it, still uncertain, when WeChat holds no coupon for it", async () => {
    const command = {
      mchid: MCHID,
      outRequestNo: "one-off-unknown",
      stockId: STOCK,
      openid: "o3",
      appid: "wx-app",
      stockCreatorMchid: MCHID,
    };
    gateway.failures.push(unavailable()); // a 5xx: nothing issued, but the outcome is unknown
    await sendCoupon(deps, command);
    setStock({ status: "paused" });
    gateway.failures.push(notActive());
    expect(await sendCoupon(deps, command)).toMatchObject({
      status: "RETRY",
      hold: { reason: "stock_not_running" },
    });
    expect(await deps.ledger.get(command)).toMatchObject({ state: "PENDING", uncertain: true });
  });

  it("answers a stock refusal as a retryable hold, stores nothing final, and sends once the stock runs", async () => {
    const command = {
      mchid: MCHID,
      outRequestNo: "one-off-1",
      stockId: STOCK,
      openid: "o1",
      appid: "wx-app",
      stockCreatorMchid: MCHID,
    };
    setStock({ beginMs: now + 60_000 });
    gateway.failures.push(notActive());
    const held = await sendCoupon(deps, command);
    expect(held).toMatchObject({
      status: "RETRY",
      code: "STOCK_NOT_STARTED",
      hold: { reason: "stock_not_started", untilMs: now + 60_000 },
    });
    expect(await deps.ledger.get(command)).toMatchObject({ state: "PENDING", leaseUntil: 0 });
    now += 60_000;
    setStock({ beginMs: now });
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "SENT" });
  });

  it("stockHoldFor leaves other refusals alone", async () => {
    const call = { stockId: STOCK, stockCreatorMchid: MCHID };
    expect(await stockHoldFor(gateway, call, refused("RULE_LIMIT"), now)).toBeUndefined();
    expect(gateway.stockQueries).toBe(0);
    setStock({ status: "stoped" });
    const hold = await stockHoldFor(gateway, call, notActive(), now);
    expect(hold).toBeInstanceOf(StockHoldError);
    expect(hold).toMatchObject({ reason: "stock_not_running", code: "STOCK_NOT_RUNNING" });
  });
});
