import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decryptAeadAesGcm, encryptAeadAesGcm } from "#shared/wechatpay/crypto/aead-aes-gcm.js";
import { buildRequestMessage } from "#shared/wechatpay/crypto/messages.js";
import { generateNonce } from "#shared/wechatpay/crypto/nonce.js";
import { signMessage, verifyMessage } from "#shared/wechatpay/crypto/rsa-sha256.js";
import { DecryptionError } from "#shared/wechatpay/errors.js";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const apiv3Key = "0123456789abcdefghijklmnopqrstuv";
const nonceArb = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 12,
  maxLength: 12,
});

function flipOneByte(bytes: Buffer, index: number, xor: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = index % copy.length;
  copy[at] = copy[at]! ^ xor;
  return copy;
}

describe("signature properties", () => {
  it("sign → verify round-trips for any request", () => {
    fc.assert(
      fc.property(fc.constantFrom("GET", "POST"), fc.webPath(), fc.nat(), fc.string(), (method, path, ts, body) => {
        const message = buildRequestMessage(method, path || "/", ts, generateNonce(), body);
        return verifyMessage(message, signMessage(message, privateKey), publicKey);
      }),
      { numRuns: 50 },
    );
  });

  it("any changed byte of the message or of the signature fails verification", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (text, i, xor, inSig) => {
          const message = Buffer.from(text, "utf8");
          const signature = Buffer.from(signMessage(text, privateKey), "base64");
          if (inSig) return !verifyMessage(text, flipOneByte(signature, i, xor).toString("base64"), publicKey);
          const altered = flipOneByte(message, i, xor);
          // A flip that produces invalid UTF-8 may decode back to the same string; only a real change must fail.
          if (altered.toString("utf8") === text) return true;
          return !verifyMessage(altered.toString("utf8"), signature.toString("base64"), publicKey);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("AEAD_AES_256_GCM properties", () => {
  it("encrypt → decrypt round-trips any plaintext and associated data", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), nonceArb, (plain, associatedData, nonce) => {
        const ciphertext = encryptAeadAesGcm({ key: apiv3Key, nonce, associatedData, plaintext: Buffer.from(plain) });
        return decryptAeadAesGcm({ key: apiv3Key, nonce, associatedData, ciphertext }).equals(Buffer.from(plain));
      }),
    );
  });

  it("any changed byte of ciphertext or tag is refused", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        nonceArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (plain, nonce, i, xor) => {
          const sealed = Buffer.from(
            encryptAeadAesGcm({ key: apiv3Key, nonce, associatedData: "coupon", plaintext: Buffer.from(plain) }),
            "base64",
          );
          const ciphertext = flipOneByte(sealed, i, xor).toString("base64");
          expect(() => decryptAeadAesGcm({ key: apiv3Key, nonce, associatedData: "coupon", ciphertext })).toThrow(
            DecryptionError,
          );
        },
      ),
    );
  });
});

describe("nonce", () => {
  it("has the requested length and WeChat's alphabet", () => {
    const nonce = generateNonce();
    expect(nonce).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(generateNonce()).not.toBe(nonce);
  });
});
