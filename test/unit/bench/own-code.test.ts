import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { measureOwnCodeCpu, sqsEvent } from "../../bench/own-code.js";
import { sendWorkerOverMemory } from "../../bench/own-code-worker.js";
import { testMerchantKeys } from "../../helpers/merchant-secret.js";

describe("own-code CPU bench", () => {
  it("sends every coupon through the real worker and client, and reports CPU per coupon", async () => {
    const figure = await measureOwnCodeCpu({ coupons: 30, warmup: 10 });
    expect(figure.sent).toBe(30);
    expect(figure.cpuMsPerCoupon).toBeGreaterThan(0);
  });

  it("verifies WeChat's signature on every answer: the same answer signed by another key sends nothing", async () => {
    const { secret, wechatpayPrivateKey } = testMerchantKeys();
    const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const campaignSignedBy = async (key: KeyObject) => {
      let issued = 0;
      const run = sendWorkerOverMemory({
        secret,
        send: async () => {
          // One coupon per send, as WeChat answers: a coupon_id is never issued for two out_request_nos.
          const body = JSON.stringify({ coupon_id: String(10_000_000_001 + issued++) });
          const timestamp = String(Math.floor(Date.now() / 1000));
          const signature = sign("sha256", Buffer.from(`${timestamp}\nn\n${body}\n`), key).toString("base64");
          return {
            status: 200,
            headers: {
              "request-id": "08bench",
              "wechatpay-timestamp": timestamp,
              "wechatpay-nonce": "n",
              "wechatpay-signature": signature,
              "wechatpay-serial": secret.wechatpayPublicKeyId!,
            },
            bytes: Buffer.from(body),
          };
        },
      });
      const bodies = await run.enqueueCampaign(["o-1", "o-2"], 100);
      const result = await run.handler(sqsEvent(bodies));
      return { failures: result.batchItemFailures.length, sent: await run.sent() };
    };
    expect(await campaignSignedBy(wechatpayPrivateKey)).toEqual({ failures: 0, sent: 2 });
    expect(await campaignSignedBy(stranger.privateKey)).toEqual({ failures: 2, sent: 0 });
  });
});
