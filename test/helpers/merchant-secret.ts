import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { MerchantSecret } from "#shared/domain/ports.js";

let cached: { secret: MerchantSecret; wechatpayPrivateKey: KeyObject } | undefined;

/**
 * A throwaway merchant secret with freshly generated keys (never real key material), and the private key of its
 * WeChat Pay public key, to sign answers as WeChat would. Generated once per process.
 */
export function testMerchantKeys(): { secret: MerchantSecret; wechatpayPrivateKey: KeyObject } {
  if (cached === undefined) {
    const merchant = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const wechat = generateKeyPairSync("rsa", { modulusLength: 2048 });
    cached = {
      secret: {
        mchid: "1900000109",
        merchantSerialNo: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        merchantPrivateKeyPem: merchant.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        apiv3Key: "TESTINGKEY0123456789abcdefghijkl",
        wechatpayPublicKeyId: "PUB_KEY_ID_0119000001092026112600000000",
        wechatpayPublicKeyPem: wechat.publicKey.export({ type: "spki", format: "pem" }).toString(),
        appid: "wx233544546545989",
      },
      wechatpayPrivateKey: wechat.privateKey,
    };
  }
  return { secret: structuredClone(cached.secret), wechatpayPrivateKey: cached.wechatpayPrivateKey };
}

/** A throwaway merchant secret with freshly generated keys (never real key material). */
export function testMerchantSecret(): MerchantSecret {
  return testMerchantKeys().secret;
}
