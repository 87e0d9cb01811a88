import { randomUUID } from "node:crypto";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeSecretsManager, startFakeSecretsManager } from "#local/stack/fake-secrets-manager.js";
import { StaticMerchantSecretSource } from "#shared/adapters/memory/static-merchant-secret-source.js";
import { formatMerchantSecret } from "#shared/adapters/secrets/merchant-secret-json.js";
import { SecretsManagerMerchantSecretSource } from "#shared/adapters/secrets/secrets-manager-merchant-secret-source.js";
import { testMerchantSecret } from "../helpers/merchant-secret.js";
import { merchantSecretContract } from "./suites/merchant-secret-contract.js";

let fake: FakeSecretsManager;
let client: SecretsManagerClient;
beforeAll(async () => {
  fake = await startFakeSecretsManager();
  client = new SecretsManagerClient({
    endpoint: fake.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});
afterAll(async () => {
  client?.destroy();
  await fake?.stop();
});

merchantSecretContract("static", async (json) => new StaticMerchantSecretSource(json));

merchantSecretContract("Secrets Manager (fake server)", async (json) => {
  const secretId = `wxcoupon/${randomUUID()}`;
  fake.putSecret(secretId, json);
  return new SecretsManagerMerchantSecretSource({ client, secretId });
});

describe("SecretsManagerMerchantSecretSource over HTTP", () => {
  it("fetches once and serves later loads from its cache", async () => {
    const secretId = `wxcoupon/${randomUUID()}`;
    fake.putSecret(secretId, formatMerchantSecret(testMerchantSecret()));
    const source = new SecretsManagerMerchantSecretSource({ client, secretId, maxAgeSeconds: 300 });
    const before = fake.getCount;
    await source.load();
    await source.load();
    const loaded = await source.load();
    expect(fake.getCount - before).toBe(1);
    // Frozen: the caller cannot poison the cache.
    expect(() => {
      loaded.mchid = "changed";
    }).toThrow(TypeError);
    expect((await source.load()).mchid).toBe("1900000109");
  });

  it("shares one fetch between concurrent first loads", async () => {
    const secretId = `wxcoupon/${randomUUID()}`;
    fake.putSecret(secretId, formatMerchantSecret(testMerchantSecret()));
    const source = new SecretsManagerMerchantSecretSource({ client, secretId });
    const before = fake.getCount;
    await Promise.all(Array.from({ length: 10 }, () => source.load()));
    expect(fake.getCount - before).toBe(1);
  });

  it("sees a rotated value after clearCache()", async () => {
    const secretId = `wxcoupon/${randomUUID()}`;
    fake.putSecret(secretId, formatMerchantSecret(testMerchantSecret()));
    const source = new SecretsManagerMerchantSecretSource({ client, secretId });
    await source.load();
    fake.putSecret(secretId, formatMerchantSecret({ ...testMerchantSecret(), merchantSerialNo: "ABCDEF0123456789" }));
    expect((await source.load()).merchantSerialNo).not.toBe("ABCDEF0123456789");
    source.clearCache();
    expect((await source.load()).merchantSerialNo).toBe("ABCDEF0123456789");
  });

  it("reports a missing secret as SECRET_NOT_FOUND, naming the secret id", async () => {
    const source = new SecretsManagerMerchantSecretSource({ client, secretId: "wxcoupon/absent" });
    await expect(source.load()).rejects.toMatchObject({
      code: "SECRET_NOT_FOUND",
      message: expect.stringContaining("wxcoupon/absent"),
    });
  });
});
