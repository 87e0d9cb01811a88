import { beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "#shared/domain/errors.js";
import { CALL_DEFERRED } from "#shared/domain/keyed-call.js";
import {
  MAX_RATE_LIMITED_ATTEMPTS,
  MAX_SEND_ATTEMPTS,
  RULE_LIMIT_RETRIES,
} from "#shared/domain/sends/failure-policy.js";
import {
  type SendCommand,
  type SendDependencies,
  sendCoupon,
  sendRequestHash,
} from "#shared/domain/sends/send-coupon.js";
import { crashingOnce } from "../../helpers/crashing-once.js";
import {
  FakeCouponGateway,
  rateLimited,
  refused,
  unavailable,
  usedUpStock,
} from "../../helpers/fake-coupon-gateway.js";
import { memorySendDependencies } from "../../helpers/memory-send-dependencies.js";

const command: SendCommand = {
  mchid: "1900000001",
  outRequestNo: "order-1",
  stockId: "9856000",
  openid: "o-user-1",
  appid: "wx-app",
  stockCreatorMchid: "1900000001",
};

let now = 1_800_000_000_000;

/** A campaign of `total` recipients in the store, for counting tests. */
async function campaignOf(id: string, total: number) {
  const input = {
    id,
    requestHash: "h",
    mchid: "m",
    stockId: "s",
    appid: "a",
    total,
    ratePerSecond: 10,
    createdAt: now,
  };
  await deps.campaigns.create(input);
}

/** Writes the campaign sends' PENDING records, as a campaign does before queueing them (campaign-recipients.ts). */
async function prepare(...sends: SendCommand[]) {
  await deps.ledger.prepare(
    sends.map(({ mchid, outRequestNo, stockId, openid, appid, campaignId }) => ({
      mchid,
      outRequestNo,
      requestHash: sendRequestHash({ mchid, outRequestNo, stockId, openid, appid, stockCreatorMchid: mchid }),
      stockId,
      openid,
      appid,
      ...(campaignId === undefined ? {} : { campaignId }),
      createdAt: now,
    })),
  );
}

let gateway: FakeCouponGateway;
let deps: SendDependencies;

beforeEach(() => {
  gateway = new FakeCouponGateway();
  gateway.now = () => now;
  // The NOT_ENOUGH refusals below are of a stock whose budget is used up: final (held otherwise, see stock-hold tests).
  gateway.stocks.set(command.stockId, usedUpStock(command.stockId, command.stockCreatorMchid));
  deps = {
    ...memorySendDependencies(gateway, () => now),
  };
});

describe("sendCoupon", () => {
  it("sends once and replays the stored coupon for the same request", async () => {
    const first = await sendCoupon(deps, command);
    const second = await sendCoupon(deps, command);
    expect(first).toMatchObject({ status: "SENT", replayed: false });
    expect(second).toMatchObject({
      status: "SENT",
      replayed: true,
      record: { couponId: first.record.couponId },
    });
    expect(gateway.calls).toBe(1);
  });

  it("refuses the same out_request_no for a different request with a conflict naming the field", async () => {
    await sendCoupon(deps, command);
    const error = await sendCoupon(deps, { ...command, openid: "o-other" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).field).toBe("out_request_no");
    expect(gateway.calls).toBe(1);
  });

  it("stores a final refusal and replays it without calling WeChat again", async () => {
    gateway.failures.push(refused("NOT_ENOUGH"));
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "FAILED", code: "NOT_ENOUGH", replayed: false });
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "FAILED", code: "NOT_ENOUGH", replayed: true });
    expect(gateway.calls).toBe(1);
  });

  it("keeps the send PENDING after a retryable failure and finishes it with the same out_request_no", async () => {
    gateway.failures.push(unavailable());
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "RETRY", code: "SYSTEM_ERROR" });
    expect((await deps.ledger.get(command))?.state).toBe("PENDING");
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "SENT", replayed: false });
    expect([...gateway.issued.keys()]).toEqual(["order-1"]);
  });

  it("heals a crash between WeChat's answer and the ledger update: the retry reuses the key and gets the same coupon", async () => {
    deps.ledger = crashingOnce(deps.ledger, "succeed");
    await expect(sendCoupon(deps, command)).rejects.toThrow("process killed");
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "IN_PROGRESS" });
    now += 30_001; // the crashed worker's lease runs out
    const healed = await sendCoupon(deps, command);
    expect(healed).toMatchObject({ status: "SENT", record: { couponId: gateway.issued.get("order-1")?.couponId } });
    expect(gateway.issued.size).toBe(1);
    expect(gateway.calls).toBe(2);
  });

  it("lets only one of 50 concurrent identical sends call WeChat", async () => {
    gateway.latencyMs = 20;
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => sendCoupon(deps, command)));
    expect(gateway.calls).toBe(1);
    expect(outcomes.filter((o) => o.status === "SENT")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "IN_PROGRESS")).toHaveLength(49);
  });

  it("retries a RULE_LIMIT a few times (spurious under concurrency) before recording it", async () => {
    for (let i = 0; i < RULE_LIMIT_RETRIES; i++) gateway.failures.push(refused("RULE_LIMIT"));
    for (let i = 1; i < RULE_LIMIT_RETRIES; i++)
      expect(await sendCoupon(deps, command)).toMatchObject({ status: "RETRY" });
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "FAILED", code: "RULE_LIMIT" });
  });

  it("gives up after the attempt budget with RETRIES_EXHAUSTED", async () => {
    for (let i = 0; i < MAX_SEND_ATTEMPTS; i++) gateway.failures.push(unavailable());
    let outcome = await sendCoupon(deps, command);
    while (outcome.status === "RETRY") outcome = await sendCoupon(deps, command);
    expect(outcome).toMatchObject({ status: "FAILED", code: "RETRIES_EXHAUSTED" });
    expect(gateway.calls).toBe(MAX_SEND_ATTEMPTS);
  });

  it("allows 429s a larger budget (they did nothing on WeChat's side), and still ends", async () => {
    for (let i = 0; i < MAX_RATE_LIMITED_ATTEMPTS; i++) gateway.failures.push(rateLimited());
    let outcome = await sendCoupon(deps, command);
    while (outcome.status === "RETRY") outcome = await sendCoupon(deps, command);
    expect(outcome).toMatchObject({ status: "FAILED", code: "RETRIES_EXHAUSTED" });
    expect(gateway.calls).toBe(MAX_RATE_LIMITED_ATTEMPTS);
  });

  it("makes no call when beforeCall says the send can no longer start, and does not count that as an attempt", async () => {
    for (let i = 0; i < MAX_SEND_ATTEMPTS - 1; i++) gateway.failures.push(unavailable());
    const deferred = await sendCoupon(deps, command, { beforeCall: async () => false });
    expect(deferred).toMatchObject({ status: "RETRY", code: CALL_DEFERRED, rateLimited: false });
    expect(gateway.calls).toBe(0);
    expect(await deps.ledger.get(command)).toMatchObject({ state: "PENDING", leaseUntil: 0, attempts: 0 });
    // Deferred many times, the send still has its whole attempt budget.
    for (let i = 0; i < 2 * MAX_SEND_ATTEMPTS; i++) await sendCoupon(deps, command, { beforeCall: async () => false });
    let outcome = await sendCoupon(deps, command);
    while (outcome.status === "RETRY") outcome = await sendCoupon(deps, command);
    expect(outcome).toMatchObject({ status: "SENT" });
    expect(gateway.calls).toBe(MAX_SEND_ATTEMPTS);
  });

  it("releases the lease, uncounted, when beforeCall throws", async () => {
    const broken = sendCoupon(deps, command, { beforeCall: () => Promise.reject(new Error("counter down")) });
    await expect(broken).rejects.toThrow("counter down");
    expect(gateway.calls).toBe(0);
    expect(await deps.ledger.get(command)).toMatchObject({ state: "PENDING", leaseUntil: 0, attempts: 0 });
    expect(await sendCoupon(deps, command, { beforeCall: async () => true })).toMatchObject({ status: "SENT" });
  });

  it("counts each campaign send once, replays included", async () => {
    await campaignOf("camp", 2);
    const send = { ...command, campaignId: "camp" };
    const other = { ...send, outRequestNo: "order-2", openid: "o-user-2" };
    await prepare(send, other);
    await sendCoupon(deps, send);
    await sendCoupon(deps, send);
    gateway.failures.push(refused("NOT_ENOUGH"));
    await sendCoupon(deps, other);
    const campaign = await deps.campaigns.get("camp");
    expect(campaign).toMatchObject({ sent: 1, failed: 1, failuresByCode: { NOT_ENOUGH: 1 }, state: "COMPLETED" });
  });
});

describe("campaign reconciliation", () => {
  it("refuses a campaign send that was never prepared (a message the service did not queue)", async () => {
    await campaignOf("c1", 1);
    await expect(sendCoupon(deps, { ...command, campaignId: "c1" })).rejects.toMatchObject({
      name: "NotFoundError",
      field: "out_request_no",
    });
    expect(gateway.calls).toBe(0);
  });

  it("corrects a double count left by a crash between counting and recording the send final", async () => {
    await campaignOf("c2", 2);
    deps.ledger = crashingOnce(deps.ledger, "succeed");
    const first = { ...command, campaignId: "c2" };
    const second = { ...first, outRequestNo: "order-c2-2", openid: "o-2" };
    await prepare(first, second);
    await expect(sendCoupon(deps, first)).rejects.toThrow("process killed");
    now += deps.leaseMs; // the crashed worker's lease runs out
    await sendCoupon(deps, first); // redelivery: WeChat replays the coupon; counted again
    expect(gateway.issued.size).toBe(1);
    expect(await deps.campaigns.get("c2")).toMatchObject({ sent: 2, state: "SENDING" });
    await sendCoupon(deps, second);
    expect(await deps.campaigns.get("c2")).toMatchObject({ sent: 2, failed: 0, state: "COMPLETED", reconciled: true });
  });

  it("drops its lease when the count fails, so the retry goes ahead at once and counts once", async () => {
    await campaignOf("c4", 1);
    deps.campaigns = crashingOnce(deps.campaigns, "recordOutcomes");
    const send = { ...command, campaignId: "c4" };
    await prepare(send);
    await expect(sendCoupon(deps, send)).rejects.toThrow("process killed");
    expect(await deps.ledger.get(send)).toMatchObject({ state: "PENDING", leaseUntil: 0 });
    expect(await sendCoupon(deps, send)).toMatchObject({ status: "SENT", replayed: false });
    expect(gateway.issued.size).toBe(1);
    expect(await deps.campaigns.get("c4")).toMatchObject({ sent: 1, state: "COMPLETED" });
  });
});

describe("a send whose answer was lost (uncertain)", () => {
  /** Counts the lookups WeChat is asked for. */
  function countLookups(): { count: number } {
    const asked = { count: 0 };
    const find = gateway.findCoupons.bind(gateway);
    gateway.findCoupons = async (call) => {
      asked.count++;
      return find(call);
    };
    return asked;
  }

  it("records a refusal after a lost answer as SENT with the coupon WeChat issued, and counts it sent", async () => {
    await campaignOf("lost", 1);
    const send = { ...command, campaignId: "lost" };
    await prepare(send);
    gateway.lostAnswers = 1;
    expect(await sendCoupon(deps, send)).toMatchObject({ status: "RETRY", code: "TIMEOUT" });
    expect(await deps.ledger.get(send)).toMatchObject({ state: "PENDING", uncertain: true });
    gateway.failures.push(refused("NOT_ENOUGH")); // e.g. the budget ran out meanwhile
    const outcome = await sendCoupon(deps, send);
    const couponId = gateway.issued.get("order-1")?.couponId;
    expect(outcome).toMatchObject({ status: "SENT", replayed: false, record: { couponId } });
    expect(await deps.campaigns.get("lost")).toMatchObject({ sent: 1, failed: 0, state: "COMPLETED" });
  });

  it("treats a send whose worker died during the call as uncertain: a refusal on the retry asks WeChat first", async () => {
    await campaignOf("died", 1);
    const send = { ...command, campaignId: "died" };
    await prepare(send);
    // WeChat issues the coupon, then the worker dies (a Lambda timeout) before it can record anything or release.
    deps.ledger = crashingOnce(deps.ledger, "succeed");
    await expect(sendCoupon(deps, send)).rejects.toThrow("process killed");
    now += 30_001; // its lease runs out
    gateway.failures.push(refused("NOT_ENOUGH")); // the budget ran out meanwhile: WeChat refuses the repeat
    const outcome = await sendCoupon(deps, send);
    const couponId = gateway.issued.get("order-1")?.couponId;
    expect(outcome).toMatchObject({ status: "SENT", record: { couponId } });
    expect(await deps.campaigns.get("died")).toMatchObject({ sent: 1, failed: 0 });
  });

  it("treats a success it could not record (the count failed) as uncertain: a refusal on the retry asks WeChat", async () => {
    await campaignOf("unrecorded", 1);
    deps.campaigns = crashingOnce(deps.campaigns, "recordOutcomes");
    const send = { ...command, campaignId: "unrecorded" };
    await prepare(send);
    await expect(sendCoupon(deps, send)).rejects.toThrow("process killed");
    expect(await deps.ledger.get(send)).toMatchObject({ state: "PENDING", leaseUntil: 0, uncertain: true });
    gateway.failures.push(refused("NOT_ENOUGH")); // the budget ran out meanwhile: WeChat refuses the repeat
    const couponId = gateway.issued.get("order-1")?.couponId;
    expect(await sendCoupon(deps, send)).toMatchObject({ status: "SENT", record: { couponId } });
    expect(await deps.campaigns.get("unrecorded")).toMatchObject({ sent: 1, failed: 0 });
  });

  it("records an exhausted budget of lost answers as SENT", async () => {
    gateway.lostAnswers = MAX_SEND_ATTEMPTS;
    let outcome = await sendCoupon(deps, command);
    while (outcome.status === "RETRY") outcome = await sendCoupon(deps, command);
    expect(outcome).toMatchObject({ status: "SENT", record: { couponId: gateway.issued.get("order-1")?.couponId } });
    expect(gateway.calls).toBe(MAX_SEND_ATTEMPTS);
  });

  it("records the failure when WeChat holds no coupon for it, and never asks for a send that was not uncertain", async () => {
    const asked = countLookups();
    gateway.failures.push(refused("NOT_ENOUGH"));
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "FAILED", code: "NOT_ENOUGH" });
    expect(asked.count).toBe(0);

    const other = { ...command, outRequestNo: "order-2" };
    gateway.failures.push(unavailable(), refused("NOT_ENOUGH"));
    expect(await sendCoupon(deps, other)).toMatchObject({ status: "RETRY" });
    expect(await sendCoupon(deps, other)).toMatchObject({ status: "FAILED", code: "NOT_ENOUGH" });
    expect(asked.count).toBe(1);
  });

  it("leaves the send PENDING, never final, while WeChat cannot be asked", async () => {
    gateway.lostAnswers = 1;
    await sendCoupon(deps, command);
    gateway.failures.push(refused("NOT_ENOUGH"));
    gateway.findFailures.push(unavailable());
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "RETRY", code: "UNCERTAIN_OUTCOME" });
    expect(await deps.ledger.get(command)).toMatchObject({ state: "PENDING", uncertain: true, leaseUntil: 0 });
  });

  it("leaves it to an operator when the user received several coupons of the stock since the send began", async () => {
    gateway.lostAnswers = 1;
    await sendCoupon(deps, command);
    await sendCoupon(deps, { ...command, outRequestNo: "order-other" });
    gateway.failures.push(refused("NOT_ENOUGH"));
    expect(await sendCoupon(deps, command)).toMatchObject({
      status: "RETRY",
      code: "UNCERTAIN_OUTCOME",
      needsOperator: true,
    });
    expect((await deps.ledger.get(command))?.state).toBe("PENDING");
  });
});
