import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildAuthorization } from "#shared/wechatpay/auth/authorization.js";
import { decryptAeadAesGcm, encryptAeadAesGcm } from "#shared/wechatpay/crypto/aead-aes-gcm.js";
import { certificateSerialNumber, loadPrivateKey, loadPublicKey } from "#shared/wechatpay/crypto/keys.js";
import { buildRequestMessage, buildResponseMessage } from "#shared/wechatpay/crypto/messages.js";
import { signMessage, signMessageAsync, verifyMessage } from "#shared/wechatpay/crypto/rsa-sha256.js";
import { DecryptionError } from "#shared/wechatpay/errors.js";
import {
  TEST_CERTIFICATE_D7CE_PEM,
  TEST_PUBLIC_KEY_PEM,
  testPrivateKeyPem,
  V1_SIGNATURE_OF_SOURCE,
  V2_GO_AES128,
  V2_JAVA_AES256,
  V4_CERTIFICATE_DOWNLOAD,
  V5A_SEND_COUPON,
  V5B_LIST_STOCKS,
  V5C_COUPON_USE,
} from "../../fixtures/vectors/public-vectors.js";

const privateKey = loadPrivateKey(testPrivateKeyPem());
const publicKey = loadPublicKey(TEST_PUBLIC_KEY_PEM);

describe("RSA-SHA256 signatures against the public vectors", () => {
  it("signs 'source' exactly as wechatpay-go does (V1)", async () => {
    expect(signMessage("source", privateKey)).toBe(V1_SIGNATURE_OF_SOURCE);
    expect(await signMessageAsync("source", privateKey)).toBe(V1_SIGNATURE_OF_SOURCE);
    expect(verifyMessage("source", V1_SIGNATURE_OF_SOURCE, publicKey)).toBe(true);
  });

  it.each([V5A_SEND_COUPON, V5B_LIST_STOCKS])(
    "builds and signs the five-line request message of $method $canonicalUrl (V5)",
    (v) => {
      const message = buildRequestMessage(v.method, v.canonicalUrl, v.timestamp, v.nonce, v.body);
      expect(message.endsWith(`${v.body}\n`)).toBe(true);
      expect(message.split("\n")).toHaveLength(6);
      expect(signMessage(message, privateKey)).toBe(v.signature);
    },
  );

  it("ends an empty-body request message with a blank line", () => {
    expect(buildRequestMessage("get", "/v3/certificates", 1, "n", "")).toBe("GET\n/v3/certificates\n1\nn\n\n");
  });

  it("formats the Authorization header like the official SDKs", () => {
    const header = buildAuthorization({ mchid: "8956000", serialNo: "BE6DCDA7A5931FA0", privateKey }, V5A_SEND_COUPON);
    expect(header).toBe(
      `WECHATPAY2-SHA256-RSA2048 mchid="8956000",nonce_str="${V5A_SEND_COUPON.nonce}",timestamp="1554208460",` +
        `serial_no="BE6DCDA7A5931FA0",signature="${V5A_SEND_COUPON.signature}"`,
    );
  });

  it("verifies the COUPON.USE notification signature over timestamp, nonce and raw body (V5c)", () => {
    const h = V5C_COUPON_USE.headers;
    const body = `{"id":"EV-2018022511223320873","create_time":"2024-05-21T10:00:05+08:00","resource_type":"encrypt-resource","event_type":"COUPON.USE","summary":"用券成功","resource":{"original_type":"coupon","algorithm":"AEAD_AES_256_GCM","ciphertext":"${V5C_COUPON_USE.ciphertext}","associated_data":"","nonce":"5K8264ILTKCH"}}`;
    const message = buildResponseMessage(h["Wechatpay-Timestamp"], h["Wechatpay-Nonce"], body);
    expect(verifyMessage(message, h["Wechatpay-Signature"], publicKey)).toBe(true);
    expect(verifyMessage(message, "WECHATPAY/SIGNTEST/anything", publicKey)).toBe(false);
  });

  it("returns false, not a throw, for a malformed signature", () => {
    expect(verifyMessage("source", "not base64!", publicKey)).toBe(false);
    expect(verifyMessage("source", "", publicKey)).toBe(false);
  });
});

describe("AEAD_AES_256_GCM against the public vectors", () => {
  it.each([V2_JAVA_AES256, V2_GO_AES128])("decrypts $plaintext with a $key.length-byte key (V2)", (v) => {
    expect(decryptAeadAesGcm(v).toString("utf8")).toBe(v.plaintext);
    expect(encryptAeadAesGcm({ ...v, plaintext: v.plaintext })).toBe(v.ciphertext);
  });

  it("decrypts the COUPON.USE resource with a 32-byte key and empty associated data (V5c)", () => {
    expect(decryptAeadAesGcm({ key: V5C_COUPON_USE.apiv3Key, ...V5C_COUPON_USE }).toString("utf8")).toBe(
      V5C_COUPON_USE.plaintext,
    );
  });

  it.each([
    ["a wrong key", { ...V2_GO_AES128, key: "testAPIv3Key1111" }],
    ["a ciphertext without a valid tag", { ...V2_GO_AES128, ciphertext: "SGVsbG8gV29ybGQK" }],
    ["altered associated data", { ...V2_JAVA_AES256, associatedData: "bad-associatedData" }],
    ["an altered nonce", { ...V2_JAVA_AES256, nonce: "bad-4a9R25RW" }],
    ["a key of the wrong length", { ...V2_JAVA_AES256, key: "short" }],
    ["a nonce of the wrong length", { ...V2_JAVA_AES256, nonce: "short" }],
    ["a ciphertext shorter than the tag", { ...V2_JAVA_AES256, ciphertext: "AAAA" }],
    ["a ciphertext that is not base64", { ...V2_JAVA_AES256, ciphertext: "%%%" }],
  ])("refuses %s with a DecryptionError", (_name, input) => {
    expect(() => decryptAeadAesGcm(input)).toThrow(DecryptionError);
  });

  it("decrypts a /v3/certificates item to the certificate holding the test key (V4)", () => {
    const pem = decryptAeadAesGcm({ key: V4_CERTIFICATE_DOWNLOAD.apiv3Key, ...V4_CERTIFICATE_DOWNLOAD }).toString(
      "utf8",
    );
    expect(certificateSerialNumber(pem)).toBe(V4_CERTIFICATE_DOWNLOAD.serialNo);
    expect(new X509Certificate(pem).publicKey.export({ type: "spki", format: "pem" })).toBe(TEST_PUBLIC_KEY_PEM);
    expect(pem.trim()).toBe(TEST_CERTIFICATE_D7CE_PEM.trim());
  });
});
