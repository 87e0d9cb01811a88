import { describe, expect, it } from "vitest";
import { formatMerchantSecret } from "#shared/adapters/secrets/merchant-secret-json.js";
import { SecretError } from "#shared/domain/errors.js";
import type { MerchantSecretSource } from "#shared/domain/ports.js";
import { testMerchantSecret } from "../../helpers/merchant-secret.js";

/** `make(json)` returns a source whose stored secret is exactly that JSON text. */
export function merchantSecretContract(backend: string, make: (json: string) => Promise<MerchantSecretSource>) {
  describe(`MerchantSecretSource contract (${backend})`, () => {
    it("loads the Secrets Manager JSON shape into a MerchantSecret", async () => {
      const secret = testMerchantSecret();
      const source = await make(formatMerchantSecret(secret));
      expect(await source.load()).toEqual(secret);
    });

    it("hands back the same frozen object while the secret is unchanged", async () => {
      const source = await make(formatMerchantSecret(testMerchantSecret()));
      const first = await source.load();
      expect(await source.load()).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(() => {
        (first as { apiv3Key: string }).apiv3Key = "changed";
      }).toThrow(TypeError);
    });

    it("accepts a secret in platform-certificate mode (no WeChat Pay public key)", async () => {
      const { wechatpayPublicKeyId: _id, wechatpayPublicKeyPem: _pem, appid: _appid, ...secret } = testMerchantSecret();
      const source = await make(formatMerchantSecret(secret));
      expect(await source.load()).toEqual(secret);
    });

    it("names a missing field and never echoes any value", async () => {
      const secret = testMerchantSecret();
      const json = JSON.parse(formatMerchantSecret(secret)) as Record<string, string>;
      delete json.apiv3_key;
      const error = await (await make(JSON.stringify(json))).load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretError);
      expect(error).toMatchObject({ code: "SECRET_FIELD_INVALID", field: "apiv3_key" });
      expect((error as Error).message).toMatch(/missing field apiv3_key/);
      assertNoSecretIn(error as Error, secret.merchantPrivateKeyPem, secret.mchid);
    });

    it("rejects an APIv3 key of the wrong length without printing it", async () => {
      const secret = { ...testMerchantSecret(), apiv3Key: "short-secret-value" };
      const error = await (await make(formatMerchantSecret(secret))).load().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "SECRET_FIELD_INVALID", field: "apiv3_key" });
      assertNoSecretIn(error as Error, "short-secret-value");
    });

    it("rejects text that is not JSON without quoting it", async () => {
      const error = await (await make("apiv3=TOPSECRETVALUE")).load().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "SECRET_MALFORMED" });
      assertNoSecretIn(error as Error, "TOPSECRETVALUE");
    });
  });
}

/** The message, the stack and any cause chain must not contain any of `values`. */
export function assertNoSecretIn(error: Error, ...values: string[]) {
  let current: unknown = error;
  while (current instanceof Error) {
    for (const value of values) {
      expect(current.message).not.toContain(value);
      expect(String(current.stack)).not.toContain(value);
    }
    current = current.cause;
  }
}
