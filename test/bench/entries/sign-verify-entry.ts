/**
 * Bundle-size probe: what a function needs to sign a request and verify WeChat's answer — nothing else of the client.
 * Measured by test/bench/client-crypto.ts (esbuild: bundle, minify, ESM, platform node).
 */
import { buildAuthorizationAsync, type MerchantCredentials } from "../../../shared/wechatpay/auth/authorization.js";
import { readSignedMessage, verifySignedMessage } from "../../../shared/wechatpay/auth/signed-message.js";
import { WechatpayVerificationKeys } from "../../../shared/wechatpay/auth/wechatpay-verifier.js";
import { loadPrivateKey, loadPublicKey } from "../../../shared/wechatpay/crypto/keys.js";
import { generateNonce } from "../../../shared/wechatpay/crypto/nonce.js";

export function credentialsFrom(mchid: string, serialNo: string, privateKeyPem: string): MerchantCredentials {
  return { mchid, serialNo, privateKey: loadPrivateKey(privateKeyPem) };
}

export function signRequest(credentials: MerchantCredentials, method: string, canonicalUrl: string, body: string) {
  return buildAuthorizationAsync(credentials, {
    method,
    canonicalUrl,
    body,
    timestamp: Math.floor(Date.now() / 1000),
    nonce: generateNonce(),
  });
}

export function verifyResponse(publicKeyId: string, publicKeyPem: string, headers: Headers, body: string) {
  const keys = new WechatpayVerificationKeys({ publicKey: { id: publicKeyId, key: loadPublicKey(publicKeyPem) } });
  return verifySignedMessage(readSignedMessage(headers, body), keys, Math.floor(Date.now() / 1000));
}
