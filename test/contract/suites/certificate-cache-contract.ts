import { describe, expect, it } from "vitest";
import type { PlatformCertificate, PlatformCertificateCache } from "#shared/domain/ports.js";

const cert = (serial: string, overrides: Partial<PlatformCertificate> = {}): PlatformCertificate => ({
  serial,
  pem: `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
  effectiveTime: "2026-01-01T00:00:00+08:00",
  expireTime: "2031-01-01T00:00:00+08:00",
  fetchedAt: 1_800_000_000_000,
  ...overrides,
});

export function certificateCacheContract(backend: string, makeCache: () => PlatformCertificateCache) {
  describe(`PlatformCertificateCache contract (${backend})`, () => {
    it("stores, replaces and lists certificates by serial", async () => {
      const cache = makeCache();
      const before = (await cache.list()).length;
      await cache.put(cert("5157F09EFDC096DE15EBE81A47057A7232F1B8E1"));
      await cache.put(cert("3775B6A45ACD588826D15E583A95F5DD2C7F3DA7"));
      await cache.put(cert("3775B6A45ACD588826D15E583A95F5DD2C7F3DA7", { fetchedAt: 2 }));
      const listed = await cache.list();
      expect(listed.length).toBe(before + 2);
      expect(listed.filter((c) => c.serial === "3775B6A45ACD588826D15E583A95F5DD2C7F3DA7")).toEqual([
        cert("3775B6A45ACD588826D15E583A95F5DD2C7F3DA7", { fetchedAt: 2 }),
      ]);
    });
  });
}
