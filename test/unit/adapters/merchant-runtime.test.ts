import { describe, expect, it } from "vitest";
import { MerchantRuntime } from "#shared/adapters/wechatpay/merchant-runtime.js";
import type { MerchantSecret, MerchantSecretSource } from "#shared/domain/ports.js";
import { testMerchantSecret } from "../../helpers/merchant-secret.js";

/** A source whose next answers the test decides. */
class ScriptedSource implements MerchantSecretSource {
  constructor(public next: MerchantSecret) {}
  async load(): Promise<MerchantSecret> {
    return this.next;
  }
}

const runtimeOver = (source: MerchantSecretSource) =>
  new MerchantRuntime({
    secrets: source,
    wechatpay: {
      baseUrl: "https://api.mch.weixin.qq.com",
      backupBaseUrl: "https://api2.mch.weixin.qq.com",
      timeoutMs: 1_000,
    },
  });

describe("MerchantRuntime", () => {
  it("keeps one client while the source hands back the same secret", async () => {
    const runtime = runtimeOver(new ScriptedSource(Object.freeze(testMerchantSecret())));
    const first = await runtime.get();
    expect((await runtime.get()).client).toBe(first.client);
  });

  it("keeps the client when the same content comes back as a new object (a re-fetch)", async () => {
    const source = new ScriptedSource(testMerchantSecret());
    const runtime = runtimeOver(source);
    const first = await runtime.get();
    source.next = testMerchantSecret();
    expect((await runtime.get()).client).toBe(first.client);
    expect((await runtime.get()).client).toBe(first.client);
  });

  it("builds a new client when the secret's content changes (a rotated key)", async () => {
    const source = new ScriptedSource(testMerchantSecret());
    const runtime = runtimeOver(source);
    const first = await runtime.get();
    source.next = { ...testMerchantSecret(), merchantSerialNo: "0123456789ABCDEF0123456789ABCDEF01234567" };
    const rotated = await runtime.get();
    expect(rotated.client).not.toBe(first.client);
    expect(rotated.secret.merchantSerialNo).toBe("0123456789ABCDEF0123456789ABCDEF01234567");
  });

  it("does not keep a failed build: the next call tries again", async () => {
    const source = new ScriptedSource({ ...testMerchantSecret(), merchantPrivateKeyPem: "not a key" });
    const runtime = runtimeOver(source);
    await expect(runtime.get()).rejects.toThrow();
    await expect(runtime.get()).rejects.toThrow();
    source.next = testMerchantSecret();
    await expect(runtime.get()).resolves.toMatchObject({ secret: { mchid: source.next.mchid } });
  });
});

describe("MerchantRuntime: which mode may download certificates", () => {
  const counted = () => {
    const calls: string[] = [];
    const send = async (request: { url: URL }) => {
      calls.push(request.url.pathname);
      throw new Error("no network in this test");
    };
    return { calls, send: send as never };
  };
  const options = (send: never) => ({
    baseUrl: "https://api.mch.weixin.qq.com",
    backupBaseUrl: "https://api2.mch.weixin.qq.com",
    timeoutMs: 1_000,
    send,
  });

  it("public-key mode: an unknown certificate serial is refused without calling WeChat", async () => {
    const { calls, send } = counted();
    const runtime = new MerchantRuntime({
      secrets: new ScriptedSource(testMerchantSecret()),
      wechatpay: options(send),
    });
    const { client } = await runtime.get();
    await expect(client.verificationKeys.resolve("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")).rejects.toMatchObject({
      reason: "UNKNOWN_SERIAL",
    });
    expect(calls).toEqual([]);
  });

  it("platform-certificate mode: an unknown serial downloads the certificates", async () => {
    const { calls, send } = counted();
    const secret = { ...testMerchantSecret(), wechatpayPublicKeyId: undefined, wechatpayPublicKeyPem: undefined };
    const runtime = new MerchantRuntime({
      secrets: new ScriptedSource(secret),
      certificates: { list: async () => [], put: async () => {} },
      wechatpay: options(send),
    });
    const { client } = await runtime.get();
    await expect(client.verificationKeys.resolve("5157F09EFDC096DE15EBE81A47057A7232F1B8E1")).rejects.toThrow();
    expect(calls).toContain("/v3/certificates");
  });

  it("public-key mode refuses a secret without the WeChat Pay public key (it would need certificates)", async () => {
    const secret = { ...testMerchantSecret(), wechatpayPublicKeyId: undefined, wechatpayPublicKeyPem: undefined };
    const runtime = new MerchantRuntime({ secrets: new ScriptedSource(secret), wechatpay: options(counted().send) });
    await expect(runtime.get()).rejects.toMatchObject({ code: "SECRET_FIELD_INVALID", field: "wechatpay_public_key" });
  });
});
