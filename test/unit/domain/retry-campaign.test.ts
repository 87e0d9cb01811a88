import { beforeEach, describe, expect, it } from "vitest";
import { MemoryCampaignStore } from "#shared/adapters/memory/memory-campaign-store.js";
import { MemorySendLedger } from "#shared/adapters/memory/memory-send-ledger.js";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { changeCampaignControl } from "#shared/domain/campaigns/campaign-lifecycle.js";
import { createCampaign } from "#shared/domain/campaigns/create-campaign.js";
import { refreshCampaign } from "#shared/domain/campaigns/reconcile-campaign.js";
import {
  type RetryDependencies,
  type RetryOptions,
  retryCampaign,
  retryCampaignId,
} from "#shared/domain/campaigns/retry-campaign.js";
import { ConflictError, NotFoundError, ValidationError } from "#shared/domain/errors.js";
import type { SendMessage } from "#shared/domain/ports.js";
import { FakeCouponGateway } from "../../helpers/fake-coupon-gateway.js";

const MCHID = "1900000001";
const STOCK = "9856000";
let now = 1_800_000_000_000;
let deps: RetryDependencies;
let queue: MemorySendQueue;

beforeEach(() => {
  now = 1_800_000_000_000;
  queue = new MemorySendQueue();
  const gateway = new FakeCouponGateway();
  gateway.stocks.set(STOCK, {
    stockId: STOCK,
    creatorMchid: MCHID,
    status: "running",
    beginMs: 0,
    endMs: Number.MAX_SAFE_INTEGER,
    maxCoupons: 1_000,
    distributedCoupons: 0,
  });
  deps = { campaigns: new MemoryCampaignStore(), ledger: new MemorySendLedger(), queue, clock: () => now, gateway };
});

type Outcome = "SENT" | "CANCELLED" | string;

/**
 * Plays the worker's part for every queued message of `campaignId`: each send ends as `outcome(openid)` says (SENT,
 * CANCELLED or a final failure code), counted and recorded as the worker does. Returns the messages it consumed.
 */
async function settle(campaignId: string, outcome: (openid: string) => Outcome): Promise<SendMessage[]> {
  const messages = queue.drain().filter((m) => m.campaignId === campaignId);
  for (const m of messages) {
    const record = {
      mchid: m.mchid,
      outRequestNo: m.outRequestNo,
      requestHash: "h",
      stockId: m.stockId,
      openid: m.openid,
      appid: m.appid,
      campaignId,
      createdAt: now,
    };
    const key = { mchid: m.mchid, outRequestNo: m.outRequestNo };
    const result = outcome(m.openid);
    if (result === "CANCELLED") {
      await deps.campaigns.recordOutcomes(campaignId, { sent: 0, failed: 0, cancelled: 1, failuresByCode: {} }, now);
      await deps.ledger.cancel(record, now);
      continue;
    }
    await deps.ledger.claim(record);
    if (result === "SENT") {
      await deps.campaigns.recordOutcomes(campaignId, { sent: 1, failed: 0, failuresByCode: {} }, now);
      await deps.ledger.succeed(key, { couponId: `c-${m.outRequestNo}` }, now);
    } else {
      await deps.campaigns.recordOutcomes(campaignId, { sent: 0, failed: 1, failuresByCode: { [result]: 1 } }, now);
      await deps.ledger.fail(key, { code: result, message: "refused" }, now);
    }
  }
  await refreshCampaign(deps, campaignId);
  return messages;
}

const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** A COMPLETED campaign of 25 recipients: 5 NOT_ENOUGH (nope-*), 3 USER_ACCOUNT_ABNORMAL (risky-*), 2 CANCELLED. */
async function completedParent(id = "parent") {
  const openids = [...users("ok", 15), ...users("nope", 5), ...users("risky", 3), ...users("late", 2)];
  await createCampaign(deps, {
    mchid: MCHID,
    stockId: STOCK,
    appid: "wx-app",
    openids,
    ratePerSecond: 50,
    campaignId: id,
  });
  const parentMessages = await settle(id, (openid) =>
    openid.startsWith("nope")
      ? "NOT_ENOUGH"
      : openid.startsWith("risky")
        ? "USER_ACCOUNT_ABNORMAL"
        : openid.startsWith("late")
          ? "CANCELLED"
          : "SENT",
  );
  const parent = await deps.campaigns.get(id);
  expect(parent).toMatchObject({ state: "COMPLETED", sent: 15, failed: 8, cancelled: 2 });
  return { parent: parent!, parentMessages };
}

/** Calls the retry until its filling is complete; returns every answer. */
async function retryUntilFilled(campaignId: string, codes: string[], options: RetryOptions) {
  const answers = [];
  for (let i = 0; i < 100; i++) {
    const answer = await retryCampaign(deps, { campaignId, codes }, options);
    answers.push(answer);
    if (answer.fillingComplete) return answers;
  }
  throw new Error("the retry never completed its filling");
}

const small: RetryOptions = { pageSize: 4, pagesPerCall: 2 };

describe("retryCampaign: filling a retry from the parent's failures, page by page", () => {
  it("adds exactly the failed recipients of the codes, each once, with new out_request_nos, a bounded page count per call", async () => {
    const { parent, parentMessages } = await completedParent();
    const answers = await retryUntilFilled(parent.id, ["NOT_ENOUGH"], small);
    // 25 records in pages of 4 → 7 pages, 2 per call → 4 calls.
    expect(answers.map((a) => [a.pagesAdded, a.fillingComplete])).toEqual([
      [2, false],
      [2, false],
      [2, false],
      [1, true],
    ]);
    expect(answers.map((a) => a.created)).toEqual([true, false, false, false]);
    const retryId = retryCampaignId(parent.id, 1, ["NOT_ENOUGH"]);
    expect(answers.every((a) => a.campaign.id === retryId)).toBe(true);

    const sent = queue.messages.filter((m) => m.campaignId === retryId);
    expect(sent.map((m) => m.openid).sort()).toEqual(users("nope", 5));
    const parentKeys = new Set(parentMessages.map((m) => m.outRequestNo));
    expect(sent.every((m) => !parentKeys.has(m.outRequestNo) && m.outRequestNo.startsWith(`${retryId}_`))).toBe(true);
    expect(new Set(sent.map((m) => m.outRequestNo)).size).toBe(5);
    expect(sent.every((m) => m.stockId === STOCK && m.appid === "wx-app" && m.ratePerSecond === 50)).toBe(true);

    const child = await deps.campaigns.get(retryId);
    expect(child).toMatchObject({
      sealed: true,
      total: 5,
      chunked: true,
      lastChunkNo: 6,
      retryOf: { campaignId: parent.id, attempt: 1, codes: ["NOT_ENOUGH"] },
      retryFill: { nextPage: 7, complete: true },
    });
    expect((await deps.campaigns.get(parent.id))?.retries).toEqual([{ campaignId: retryId, codes: ["NOT_ENOUGH"] }]);
  });

  it("is idempotent: a call after the filling completed adds nothing and queues nothing", async () => {
    const { parent } = await completedParent();
    await retryUntilFilled(parent.id, ["NOT_ENOUGH"], small);
    const queued = queue.messages.length;
    const again = await retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH", "NOT_ENOUGH"] }, small);
    expect(again).toMatchObject({ created: false, fillingComplete: true, pagesAdded: 0 });
    expect(queue.messages.length).toBe(queued);
    expect((await deps.campaigns.get(parent.id))?.retries).toHaveLength(1);
  });

  it("a request cut short after adding a page, before storing its cursor, is healed by the next call (no message twice)", async () => {
    const { parent } = await completedParent();
    const store = deps.campaigns;
    const advance = store.advanceRetryFill.bind(store);
    let failOnce = true;
    store.advanceRetryFill = (...args) => {
      if (!failOnce) return advance(...args);
      failOnce = false;
      return Promise.reject(new Error("store unavailable"));
    };
    await expect(retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] }, small)).rejects.toThrow(
      "store unavailable",
    );
    await retryUntilFilled(parent.id, ["NOT_ENOUGH"], small);
    const retryId = retryCampaignId(parent.id, 1, ["NOT_ENOUGH"]);
    const sent = queue.messages.filter((m) => m.campaignId === retryId);
    expect(sent.map((m) => m.openid).sort()).toEqual(users("nope", 5));
    expect(await deps.campaigns.get(retryId)).toMatchObject({ total: 5, sealed: true });
  });

  it("a request cut short after the parent named its retry, before the retry existed, is healed by the next call", async () => {
    const { parent } = await completedParent();
    const store = deps.campaigns;
    const create = store.create.bind(store);
    store.create = () => Promise.reject(new Error("store unavailable"));
    await expect(retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] })).rejects.toThrow(
      "store unavailable",
    );
    store.create = create;
    const retryId = retryCampaignId(parent.id, 1, ["NOT_ENOUGH"]);
    expect((await store.get(parent.id))?.retries).toEqual([{ campaignId: retryId, codes: ["NOT_ENOUGH"] }]);
    // Meanwhile it counts as being filled: other codes wait.
    await expect(
      retryCampaign(deps, { campaignId: parent.id, codes: ["USER_ACCOUNT_ABNORMAL"] }),
    ).rejects.toMatchObject({ code: "RETRY_IN_PROGRESS" });
    const healed = await retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] });
    expect(healed).toMatchObject({
      fillingComplete: true,
      campaign: { id: retryId, total: 5, retryOf: { attempt: 1 } },
    });
  });

  it("starts no new page once the request's time budget is spent, but always adds one", async () => {
    const { parent } = await completedParent();
    const ledger = deps.ledger;
    const list = ledger.listByCampaign.bind(ledger);
    ledger.listByCampaign = (...args) => {
      now += 3_000; // a slow read
      return list(...args);
    };
    const options = { pageSize: 4, pagesPerCall: 5, timeBudgetMs: 5_000 };
    const first = await retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] }, options);
    expect(first.pagesAdded).toBe(2);
    const slow = await retryCampaign(
      deps,
      { campaignId: parent.id, codes: ["NOT_ENOUGH"] },
      { ...options, timeBudgetMs: 0 },
    );
    expect(slow.pagesAdded).toBe(1);
  });

  it("one request filling everything at once (the deployed page size) answers complete at once", async () => {
    const { parent } = await completedParent();
    const answer = await retryCampaign(deps, { campaignId: parent.id, codes: ["USER_ACCOUNT_ABNORMAL", "NOT_ENOUGH"] });
    expect(answer).toMatchObject({ created: true, fillingComplete: true, pagesAdded: 1 });
    expect(answer.campaign).toMatchObject({
      total: 8,
      sealed: true,
      retryOf: { codes: ["NOT_ENOUGH", "USER_ACCOUNT_ABNORMAL"] },
    });
  });
});

describe("retryCampaign: refusals", () => {
  it("another set of codes while a retry is being filled is a RETRY_IN_PROGRESS on codes", async () => {
    const { parent } = await completedParent();
    await retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] }, small);
    const refused = retryCampaign(deps, { campaignId: parent.id, codes: ["USER_ACCOUNT_ABNORMAL"] }, small);
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    await expect(refused).rejects.toMatchObject({ code: "RETRY_IN_PROGRESS", field: "codes" });
  });

  it("codes that overlap an earlier retry's are refused; disjoint ones make the parent's next retry", async () => {
    const { parent } = await completedParent();
    await retryUntilFilled(parent.id, ["NOT_ENOUGH"], small);
    await expect(
      retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH", "USER_ACCOUNT_ABNORMAL"] }, small),
    ).rejects.toMatchObject({ code: "RETRY_CODES_OVERLAP", field: "codes" });

    const second = await retryUntilFilled(parent.id, ["USER_ACCOUNT_ABNORMAL"], small);
    const retryId = retryCampaignId(parent.id, 2, ["USER_ACCOUNT_ABNORMAL"]);
    expect(second[0]!.campaign).toMatchObject({ id: retryId, retryOf: { attempt: 2 } });
    expect(
      queue.messages
        .filter((m) => m.campaignId === retryId)
        .map((m) => m.openid)
        .sort(),
    ).toEqual(users("risky", 3));
    expect((await deps.campaigns.get(parent.id))?.retries?.map((r) => r.codes)).toEqual([
      ["NOT_ENOUGH"],
      ["USER_ACCOUNT_ABNORMAL"],
    ]);
  });

  it("refuses a campaign that is not COMPLETED, codes nobody failed with (CANCELLED is not a failure), no codes, an unknown id", async () => {
    await createCampaign(deps, {
      mchid: MCHID,
      stockId: STOCK,
      appid: "wx-app",
      openids: ["a", "b"],
      ratePerSecond: 50,
      campaignId: "running",
    });
    await expect(retryCampaign(deps, { campaignId: "running", codes: ["NOT_ENOUGH"] })).rejects.toMatchObject({
      code: "CAMPAIGN_NOT_COMPLETED",
      field: "campaign_id",
    });
    const { parent } = await completedParent();
    for (const codes of [["SYSTEM_ERROR"], ["CANCELLED"]]) {
      await expect(retryCampaign(deps, { campaignId: parent.id, codes })).rejects.toMatchObject({
        code: "NO_FAILURES_TO_RETRY",
        field: "codes",
      });
    }
    await expect(retryCampaign(deps, { campaignId: parent.id, codes: [] })).rejects.toBeInstanceOf(ValidationError);
    await expect(retryCampaign(deps, { campaignId: "nope", codes: ["X"] })).rejects.toBeInstanceOf(NotFoundError);
    expect((await deps.campaigns.get(parent.id))?.retries).toBeUndefined();
  });

  it("a cancelled retry does not block the next one, and keeps its codes", async () => {
    const { parent } = await completedParent();
    const first = await retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] }, small);
    await changeCampaignControl({ ...deps, settleMs: 0, sleep: async () => {} }, first.campaign.id, "cancel");
    const stopped = await retryCampaign(deps, { campaignId: parent.id, codes: ["NOT_ENOUGH"] }, small);
    expect(stopped).toMatchObject({ pagesAdded: 0, fillingComplete: false, campaign: { control: "CANCELLED" } });
    const next = await retryCampaign(deps, { campaignId: parent.id, codes: ["USER_ACCOUNT_ABNORMAL"] }, small);
    expect(next.created).toBe(true);
  });
});

describe("retryCampaign: retries of retries", () => {
  it("retrying a completed retry makes a grandchild that names it, and sends its failures", async () => {
    const { parent } = await completedParent();
    const [first] = await retryUntilFilled(parent.id, ["NOT_ENOUGH"], { pageSize: 100 });
    const childId = first!.campaign.id;
    // Two of the five fail again, now on another code.
    await settle(childId, (openid) => (openid === "nope-1" || openid === "nope-3" ? "SYSTEM_ERROR" : "SENT"));
    expect(await deps.campaigns.get(childId)).toMatchObject({ state: "COMPLETED", sent: 3, failed: 2 });

    const grand = await retryCampaign(deps, { campaignId: childId, codes: ["SYSTEM_ERROR"] });
    expect(grand).toMatchObject({
      created: true,
      fillingComplete: true,
      campaign: { id: retryCampaignId(childId, 1, ["SYSTEM_ERROR"]), retryOf: { campaignId: childId, attempt: 1 } },
    });
    expect(
      queue.messages
        .filter((m) => m.campaignId === grand.campaign.id)
        .map((m) => m.openid)
        .sort(),
    ).toEqual(["nope-1", "nope-3"]);
    expect((await deps.campaigns.get(childId))?.retries).toEqual([
      { campaignId: grand.campaign.id, codes: ["SYSTEM_ERROR"] },
    ]);
  });
});
