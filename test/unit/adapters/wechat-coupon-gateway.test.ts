import { describe, expect, it } from "vitest";
import { MerchantRuntime } from "#shared/adapters/wechatpay/merchant-runtime.js";
import { WechatCouponGateway } from "#shared/adapters/wechatpay/wechat-coupon-gateway.js";
import { CallWithheldError } from "#shared/domain/errors.js";
import type { MerchantSecret, MerchantSecretSource } from "#shared/domain/ports.js";
import { testMerchantSecret } from "../../helpers/merchant-secret.js";

const call = { stockId: "9856000", outRequestNo: "r1", openid: "o1", appid: "wx1", stockCreatorMchid: "1900000001" };

describe("WechatCouponGateway.sendCoupon's last check (the worker's pause fence)", () => {
  it("asks it after the credentials are loaded, and sends no request when it says no", async () => {
    const events: string[] = [];
    const secrets: MerchantSecretSource = {
      load: async (): Promise<MerchantSecret> => {
        events.push("credentials");
        return testMerchantSecret();
      },
    };
    const runtime = new MerchantRuntime({
      secrets,
      wechatpay: {
        baseUrl: "https://api.mch.weixin.qq.com",
        backupBaseUrl: "https://api2.mch.weixin.qq.com",
        timeoutMs: 1_000,
        send: async () => {
          events.push("request");
          throw new Error("no request was expected");
        },
      },
    });
    const gateway = new WechatCouponGateway(runtime);
    await expect(
      gateway.sendCoupon(call, async () => {
        events.push("check");
        return false;
      }),
    ).rejects.toBeInstanceOf(CallWithheldError);
    expect(events).toEqual(["credentials", "check"]);
  });
});
