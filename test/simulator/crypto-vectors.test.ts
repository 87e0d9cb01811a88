import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decryptAeadAesGcm, encryptAeadAesGcm } from "#local/simulator/crypto/aes-gcm.js";
import { parseAuthorization } from "#local/simulator/crypto/authorization.js";
import { requestSignMessage, responseSignMessage } from "#local/simulator/crypto/messages.js";
import { signAsync, verifySignature } from "#local/simulator/crypto/rsa.js";

const dir = new URL("../fixtures/vectors/", import.meta.url);
const vectors = JSON.parse(readFileSync(new URL("wechatpay-vectors.json", dir), "utf8"));
const privateKey = createPrivateKey(
  readFileSync(new URL("v1-rsa-private.test-key.pem", dir), "utf8").replaceAll("TESTING KEY", "PRIVATE KEY"),
);
const publicKey = createPublicKey(readFileSync(new URL("v1-rsa-public.pem", dir), "utf8"));

describe("simulator crypto against the public vectors (docs/wechatpay-apiv3-security.md#test-vectors)", () => {
  it("signs V1 'source' to the published signature", async () => {
    expect(await signAsync(vectors.v1.message, privateKey)).toBe(vectors.v1.signature);
    expect(verifySignature(vectors.v1.message, vectors.v1.signature, publicKey)).toBe(true);
  });

  it("builds and signs the V5(a) send-coupon request message", async () => {
    const body =
      '{"stock_id":"9856000","out_request_no":"89560002019101000121","appid":"wx233544546545989","stock_creator_mchid":"8956000"}';
    const message = requestSignMessage(
      "POST",
      "/v3/marketing/favor/users/oUpF8uMuAJO_M2pxb1Q9zNjWeS6o/coupons",
      "1554208460",
      "593BEC0C930BF1AFEB40B4A08C8FB242",
      body,
    );
    expect(message).toBe(vectors.v5a.message);
    expect(await signAsync(message, privateKey)).toBe(vectors.v5a.signature);
  });

  it("builds and verifies the V5(b) GET message with an empty body line", () => {
    const message = requestSignMessage(
      "GET",
      "/v3/marketing/favor/stocks?offset=0&limit=10&stock_creator_mchid=8956000",
      "1554208460",
      "593BEC0C930BF1AFEB40B4A08C8FB242",
      "",
    );
    expect(message).toBe(vectors.v5b.message);
    expect(verifySignature(message, vectors.v5b.signature, publicKey)).toBe(true);
    expect(verifySignature(`${message}x`, vectors.v5b.signature, publicKey)).toBe(false);
  });

  it("encrypts the V5(c) COUPON.USE resource to the published ciphertext and signs its envelope", async () => {
    const c = vectors.v5c;
    const key = Buffer.from(c.key, "utf8");
    expect(encryptAeadAesGcm(key, c.nonce, c.associated_data, c.plaintext)).toBe(c.ciphertext);
    expect(decryptAeadAesGcm(key, c.nonce, c.associated_data, c.ciphertext)).toBe(c.plaintext);
    const message = responseSignMessage(c.timestamp, c.header_nonce, c.envelope);
    expect(await signAsync(message, privateKey)).toBe(c.signature);
  });

  it("decrypts the V2 32-byte vector and rejects a wrong AAD or nonce", () => {
    const v = vectors.v2;
    const key = Buffer.from(v.key, "utf8");
    expect(decryptAeadAesGcm(key, v.nonce, v.associated_data, v.ciphertext)).toBe(v.plaintext);
    expect(encryptAeadAesGcm(key, v.nonce, v.associated_data, v.plaintext)).toBe(v.ciphertext);
    expect(() => decryptAeadAesGcm(key, v.nonce, "bad-associatedData", v.ciphertext)).toThrow();
    expect(() => decryptAeadAesGcm(key, "bad-4a9R25RW", v.associated_data, v.ciphertext)).toThrow();
  });

  it("verifies and decrypts the V3 notification (16-byte key: AES-128-GCM)", () => {
    const v = vectors.v3;
    expect(verifySignature(responseSignMessage(v.timestamp, v.nonce, v.body), v.signature, publicKey)).toBe(true);
    const resource = JSON.parse(v.body).resource;
    const plaintext = decryptAeadAesGcm(
      Buffer.from(v.apiv3_key, "utf8"),
      resource.nonce,
      resource.associated_data,
      resource.ciphertext,
    );
    expect(plaintext).toBe(v.plaintext);
  });

  it("rejects a probe signature prefixed WECHATPAY/SIGNTEST/", () => {
    const c = vectors.v5c;
    expect(
      verifySignature(
        responseSignMessage(c.timestamp, c.header_nonce, c.envelope),
        "WECHATPAY/SIGNTEST/anything",
        publicKey,
      ),
    ).toBe(false);
  });

  it("parses an Authorization header in any pair order and refuses other schemes", () => {
    const parsed = parseAuthorization(
      'WECHATPAY2-SHA256-RSA2048 signature="c2ln",serial_no="ABC",timestamp="1554208460",nonce_str="n",mchid="1900000001"',
    );
    expect(parsed).toEqual({
      mchid: "1900000001",
      nonce_str: "n",
      timestamp: "1554208460",
      serial_no: "ABC",
      signature: "c2ln",
    });
    expect(typeof parseAuthorization('WECHATPAY-BRAND-SHA256-RSA2048 brand_id="1"')).toBe("string");
    expect(typeof parseAuthorization('WECHATPAY2-SHA256-RSA2048 mchid="1"')).toBe("string");
  });
});
