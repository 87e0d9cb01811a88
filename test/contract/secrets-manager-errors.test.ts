import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { formatMerchantSecret } from "#shared/adapters/secrets/merchant-secret-json.js";
import { SecretsManagerMerchantSecretSource } from "#shared/adapters/secrets/secrets-manager-merchant-secret-source.js";
import { SecretError } from "#shared/domain/errors.js";
import { testMerchantSecret } from "../helpers/merchant-secret.js";
import { assertNoSecretIn } from "./suites/merchant-secret-contract.js";

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

const source = (maxAgeSeconds = 300) =>
  new SecretsManagerMerchantSecretSource({
    client: new SecretsManagerClient({ region: "us-east-1" }),
    secretId: "arn:aws:secretsmanager:us-east-1:111111111111:secret:wxcoupon/merchant",
    maxAgeSeconds,
  });

describe("SecretsManagerMerchantSecretSource error paths (mocked SDK)", () => {
  it("maps ResourceNotFoundException to SECRET_NOT_FOUND", async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
    );
    const error = await source()
      .load()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretError);
    expect(error).toMatchObject({ code: "SECRET_NOT_FOUND", message: expect.stringContaining("wxcoupon/merchant") });
  });

  it("maps any other SDK failure (access denied, throttling) to SECRET_UNAVAILABLE with its name", async () => {
    sm.on(GetSecretValueCommand).rejects(
      new SecretsManagerServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        message: "not authorized",
        $metadata: {},
      }),
    );
    await expect(source().load()).rejects.toMatchObject({
      code: "SECRET_UNAVAILABLE",
      message: expect.stringContaining("AccessDeniedException"),
    });
  });

  it("reports bad JSON without a fragment of the text, and without JSON.parse's error as cause", async () => {
    const leaky = '{"apiv3_key": "LEAKYLEAKYLEAKYLEAKYLEAKYLEAKY12", oops';
    sm.on(GetSecretValueCommand).resolves({ SecretString: leaky });
    const error = (await source()
      .load()
      .catch((e: unknown) => e)) as SecretError;
    expect(error.code).toBe("SECRET_MALFORMED");
    expect(error.cause).toBeUndefined();
    assertNoSecretIn(error, "LEAKY", "oops");
  });

  it("names the missing field, never a value", async () => {
    const secret = testMerchantSecret();
    const json = JSON.parse(formatMerchantSecret(secret)) as Record<string, unknown>;
    delete json.merchant_private_key;
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(json) });
    const error = (await source()
      .load()
      .catch((e: unknown) => e)) as SecretError;
    expect(error).toMatchObject({ code: "SECRET_FIELD_INVALID", field: "merchant_private_key" });
    assertNoSecretIn(error, secret.apiv3Key, secret.wechatpayPublicKeyPem!);
  });

  it("flags a field of the wrong type by name", async () => {
    const json = { ...JSON.parse(formatMerchantSecret(testMerchantSecret())), mchid: 1900000109 };
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(json) });
    await expect(source().load()).rejects.toMatchObject({
      field: "mchid",
      message: expect.stringContaining("must be a string"),
    });
  });

  it("requires both WeChat Pay public key fields or neither", async () => {
    const { wechatpayPublicKeyPem: _pem, ...secret } = testMerchantSecret();
    sm.on(GetSecretValueCommand).resolves({ SecretString: formatMerchantSecret(secret) });
    await expect(source().load()).rejects.toMatchObject({ field: "wechatpay_public_key" });
  });

  it("calls GetSecretValue once within maxAge and again with maxAge 0", async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: formatMerchantSecret(testMerchantSecret()) });
    const cached = source(300);
    await cached.load();
    await cached.load();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    const uncached = source(0);
    await uncached.load();
    await uncached.load();
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it("reads a SecretBinary value as UTF-8 JSON", async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: Buffer.from(formatMerchantSecret(testMerchantSecret())) });
    expect((await source().load()).mchid).toBe("1900000109");
  });
});
