import { beforeEach, describe, expect, it } from "vitest";
import { MemorySendQueue } from "#shared/adapters/memory/memory-send-queue.js";
import { changeCampaignControl, type LifecycleDependencies } from "#shared/domain/campaigns/campaign-lifecycle.js";
import { createCampaign } from "#shared/domain/campaigns/create-campaign.js";
import {
  processSendBatch,
  type QueuedSend,
  type WorkerDependencies,
} from "#shared/domain/campaigns/process-send-batch.js";
import { GatewayError } from "#shared/domain/gateway.js";
import {
  decideAfterFailure,
  MerchantHoldError,
  merchantHoldReason,
  outcomeUnknown,
} from "#shared/domain/sends/failure-policy.js";
import { sendCoupon } from "#shared/domain/sends/send-coupon.js";
import { FakeCouponGateway } from "../../helpers/fake-coupon-gateway.js";
import { memoryWorkerDependencies } from "../../helpers/memory-send-dependencies.js";

// Refusals of the merchant (docs/wechatpay-cash-coupons.md#refusals-about-the-merchant): held like a stock's, never
// recorded final per recipient.

const MCHID = "1900000001";
const STOCK = "9856000";
const HOUR = 3_600_000;

/** A refusal as the WeChat adapter maps it: WeChat's status, code and message. */
const wechat = (status: number, code: string, message: string) =>
  new GatewayError("refused", code, `WeChat Pay ${status} ${code}: ${message}`, status);
const noAuth = () => wechat(403, "NO_AUTH", "发券商户无权限使用此API");

describe("merchantHoldReason: whose refusal a send's WeChat answer is", () => {
  it.each([
    [403, "NO_AUTH", "发券商户无权限使用此API", "merchant_not_permitted"],
    [403, "REQUEST_BLOCKED", "商户无权发券", "merchant_not_permitted"],
    [403, "REQUEST_BLOCKED", "调用商户无权限", "merchant_not_permitted"],
    [403, "REQUEST_BLOCKED", "批次不支持跨商户发券", "merchant_not_permitted"],
    [400, "MCH_NOT_EXISTS", "商户号不合法", "merchant_not_permitted"],
    [400, "INVALID_REQUEST", "非法的商户号", "merchant_not_permitted"],
    [400, "APPID_MCHID_NOT_MATCH", "商户号与appid不匹配", "appid_not_bound"],
  ])("%i %s %s → %s (the merchant's: held)", (status, code, message, reason) => {
    expect(merchantHoldReason(wechat(status, code, message))).toBe(reason);
  });

  it("401 SIGN_ERROR → credentials_refused: WeChat refused the merchant's signature, for every send alike", () => {
    const signError = new GatewayError(
      "misconfigured",
      "SIGN_ERROR",
      "WeChat Pay 401 SIGN_ERROR: 错误的签名，验签失败",
      401,
    );
    expect(merchantHoldReason(signError)).toBe("credentials_refused");
  });

  it.each([
    [403, "REQUEST_BLOCKED", "用户被限领拦截"],
    [403, "USER_ACCOUNT_ABNORMAL", "用户非法"],
    [403, "RULE_LIMIT", "用户已达最大领券次数"],
    [400, "PARAM_ERROR", "openid不合法"],
    [400, "INVALID_REQUEST", "openid与appID不匹配"],
    [400, "INVALID_REQUEST", "活动已结束或未激活"],
    [403, "NOT_ENOUGH", "批次预算不足"],
    [404, "RESOURCE_NOT_EXISTS", "批次不存在"],
  ])("%i %s %s → not the merchant's", (status, code, message) => {
    expect(merchantHoldReason(wechat(status, code, message))).toBeUndefined();
  });

  it("a 5xx, a 429 or WeChat's answer failing verification (WeChat may have acted) is never a merchant hold", () => {
    expect(merchantHoldReason(new GatewayError("retryable", "NO_AUTH", "odd 500", 500))).toBeUndefined();
    expect(merchantHoldReason(new GatewayError("rate_limited", "NO_AUTH", "odd 429", 429))).toBeUndefined();
    expect(merchantHoldReason(new GatewayError("misconfigured", "SIGNATURE_UNKNOWN_SERIAL", "unverified"))).toBe(
      undefined,
    );
  });

  it("the failure policy holds a MerchantHoldError whatever the attempts, and it is not an unknown outcome", () => {
    const hold = new MerchantHoldError("appid_not_bound", "WeChat Pay 400 APPID_MCHID_NOT_MATCH: 商户号与appid不匹配");
    for (const attempts of [1, 8, 100]) {
      expect(decideAfterFailure(hold, attempts)).toEqual({
        action: "hold",
        code: "APPID_NOT_BOUND",
        message: hold.message,
        reason: "appid_not_bound",
      });
    }
    expect(outcomeUnknown(hold)).toBe(false);
    // Unexplained, the refusal is final: the send path explains it (create-stock answers NO_AUTH for its own rules).
    expect(decideAfterFailure(noAuth(), 1)).toMatchObject({ action: "fail", code: "NO_AUTH" });
  });
});

let now = 1_800_000_000_000;
let gateway: FakeCouponGateway;
let deps: WorkerDependencies;
let queue: MemorySendQueue;
let lifecycle: LifecycleDependencies;

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
  gateway.stocks.set(STOCK, {
    stockId: STOCK,
    creatorMchid: MCHID,
    status: "running",
    beginMs: now - HOUR,
    endMs: now + 24 * HOUR,
    maxCoupons: 100,
    distributedCoupons: 0,
  });
});

const create = (openids: string[]) =>
  createCampaign(
    { campaigns: deps.campaigns, ledger: deps.ledger, queue, clock: () => now, gateway },
    { mchid: MCHID, stockId: STOCK, appid: "wx-app", openids, ratePerSecond: 100 },
  );
const drain = (receiveCount = 1): QueuedSend[] =>
  queue.drain().map((message, i) => ({ messageId: `m${i}`, body: JSON.stringify(message), receiveCount }));

describe("a campaign meeting a merchant refusal", () => {
  it("pauses with the reason, records nothing final, holds every send, and completes after resume", async () => {
    const { campaign } = await create(["a", "b", "c"]);
    const [a, b, c] = drain();
    gateway.failures.push(noAuth());
    const first = await processSendBatch(deps, [a!]);
    expect(first.held.map((h) => h.reason)).toEqual(["paused"]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "PAUSED",
      controlReason: "merchant_not_permitted",
      failed: 0,
      sent: 0,
    });
    const recordA = (await deps.ledger.listByCampaign(campaign.id)).items.find((r) => r.openid === "a");
    expect(recordA).toMatchObject({ state: "PENDING", leaseUntil: 0, errorCode: "MERCHANT_NOT_PERMITTED" });
    expect(recordA?.uncertain).toBeUndefined();

    // The rest meet the paused campaign: held, no WeChat call.
    const calls = gateway.calls;
    const rest = await processSendBatch(deps, [b!, c!, { ...a!, receiveCount: 2 }]);
    expect(rest.held.map((h) => h.reason)).toEqual(["paused", "paused", "paused"]);
    expect(gateway.calls).toBe(calls);

    // The operator has the permission restored and resumes: every send goes, none failed.
    const resumed = await changeCampaignControl(lifecycle, campaign.id, "resume");
    expect(resumed.campaign.controlReason).toBeUndefined();
    await processSendBatch(deps, [
      { ...a!, receiveCount: 3 },
      { ...b!, receiveCount: 2 },
      { ...c!, receiveCount: 2 },
    ]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      state: "COMPLETED",
      sent: 3,
      failed: 0,
      failuresByCode: {},
    });
  });

  it("pauses again, still nothing final, when WeChat still refuses after the resume", async () => {
    const { campaign } = await create(["a", "b"]);
    const [a, b] = drain();
    gateway.failures.push(wechat(400, "APPID_MCHID_NOT_MATCH", "商户号与appid不匹配"));
    await processSendBatch(deps, [a!]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({ controlReason: "appid_not_bound" });
    await changeCampaignControl(lifecycle, campaign.id, "resume");
    gateway.failures.push(wechat(400, "APPID_MCHID_NOT_MATCH", "商户号与appid不匹配"));
    await processSendBatch(deps, [{ ...a!, receiveCount: 2 }, b!]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "PAUSED",
      controlReason: "appid_not_bound",
      failed: 0,
    });
    // b ran beside a in the batch (another openid) and WeChat let it through: a send already started may finish.
    const states = (await deps.ledger.listByCampaign(campaign.id)).items.map((r) => [r.openid, r.state]);
    expect(states.sort()).toEqual([
      ["a", "PENDING"],
      ["b", "SENT"],
    ]);
  });

  it("pauses on WeChat refusing the merchant's signature (credentials_refused), nothing final, not uncertain", async () => {
    const { campaign } = await create(["a"]);
    gateway.failures.push(new GatewayError("misconfigured", "SIGN_ERROR", "WeChat Pay 401 SIGN_ERROR", 401));
    const result = await processSendBatch(deps, drain());
    expect(result.failures).toEqual([]); // held with its campaign, not on its way to the DLQ
    expect(result.held.map((h) => h.reason)).toEqual(["paused"]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "PAUSED",
      controlReason: "credentials_refused",
      failed: 0,
    });
    const record = (await deps.ledger.listByCampaign(campaign.id)).items[0];
    expect(record).toMatchObject({ state: "PENDING", errorCode: "WECHATPAY_AUTH_FAILED" });
    expect(record?.uncertain).toBeUndefined();
    // Resume's stock query is signed with the same key: still refused, the resume fails and the campaign stays paused.
    gateway.stockFailures.push(new GatewayError("misconfigured", "SIGN_ERROR", "WeChat Pay 401 SIGN_ERROR", 401));
    await expect(changeCampaignControl(lifecycle, campaign.id, "resume")).rejects.toMatchObject({ code: "SIGN_ERROR" });
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "PAUSED",
      controlReason: "credentials_refused",
    });
  });

  it("records the recipient's REQUEST_BLOCKED (用户被限领拦截) final and keeps sending", async () => {
    const { campaign } = await create(["a", "b"]);
    gateway.failures.push(wechat(403, "REQUEST_BLOCKED", "用户被限领拦截"));
    await processSendBatch(deps, drain());
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      control: "RUNNING",
      state: "COMPLETED",
      sent: 1,
      failed: 1,
      failuresByCode: { REQUEST_BLOCKED: 1 },
    });
  });

  it("a cancelled campaign's send refused for the merchant ends CANCELLED (WeChat issued nothing), never loops", async () => {
    const { campaign } = await create(["a", "b"]);
    const [a, b] = drain();
    gateway.failures.push(noAuth());
    await processSendBatch(deps, [a!]);
    await changeCampaignControl(lifecycle, campaign.id, "cancel");
    await processSendBatch(deps, [{ ...a!, receiveCount: 2 }, b!]);
    expect(await deps.campaigns.get(campaign.id)).toMatchObject({
      state: "COMPLETED",
      sent: 0,
      failed: 0,
      cancelled: 2,
    });
  });
});

describe("POST /coupons' send path", () => {
  it("answers a merchant refusal as a hold, stores nothing final, and sends the same key once it is lifted", async () => {
    const command = {
      mchid: MCHID,
      outRequestNo: "one-off-merchant",
      stockId: STOCK,
      openid: "o1",
      appid: "wx-app",
      stockCreatorMchid: MCHID,
    };
    gateway.failures.push(wechat(403, "REQUEST_BLOCKED", "商户无权发券"));
    expect(await sendCoupon(deps, command)).toMatchObject({
      status: "RETRY",
      code: "MERCHANT_NOT_PERMITTED",
      hold: { reason: "merchant_not_permitted" },
    });
    expect(await deps.ledger.get(command)).toMatchObject({ state: "PENDING", leaseUntil: 0 });
    expect(gateway.stockQueries).toBe(0); // the merchant's refusal asks nothing of the stock
    expect(await sendCoupon(deps, command)).toMatchObject({ status: "SENT" });
  });
});
