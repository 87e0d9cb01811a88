import { describe, expect, it } from "vitest";
import { WechatpayVerificationKeys } from "#shared/wechatpay/auth/wechatpay-verifier.js";
import { loadPublicKey } from "#shared/wechatpay/crypto/keys.js";
import { DecryptionError, NotificationFormatError, SignatureVerificationError } from "#shared/wechatpay/errors.js";
import { parseCouponUseNotification, parseNotification } from "#shared/wechatpay/notify/parse-notification.js";
import {
  TEST_CERTIFICATE_D7CE_PEM,
  TEST_PUBLIC_KEY_PEM,
  V3_NOTIFICATION,
  V5C_COUPON_USE,
  v5cEnvelopeBody,
} from "../../fixtures/vectors/public-vectors.js";

const certificateKeys = new WechatpayVerificationKeys({
  certificates: new Map([["D7CE59D1F522D701", loadPublicKey(TEST_CERTIFICATE_D7CE_PEM)]]),
});
const PUB_KEY_ID = "PUB_KEY_ID_0114232134912410000000000000000000";
const publicKeyKeys = new WechatpayVerificationKeys({
  publicKey: { id: PUB_KEY_ID, key: loadPublicKey(TEST_PUBLIC_KEY_PEM) },
});

const v5c = { headers: V5C_COUPON_USE.headers, body: v5cEnvelopeBody() };
const v5cKeys = { verificationKeys: certificateKeys, apiv3Key: V5C_COUPON_USE.apiv3Key };

describe("parseNotification", () => {
  it("verifies and decrypts wechatpay-go's notification vector (V3)", async () => {
    const parsed = await parseNotification(
      { headers: V3_NOTIFICATION.headers, body: V3_NOTIFICATION.body },
      { verificationKeys: certificateKeys, apiv3Key: V3_NOTIFICATION.apiv3Key },
      V3_NOTIFICATION.now,
    );
    expect(parsed.plaintext).toBe(V3_NOTIFICATION.plaintext);
    expect(parsed.envelope.id).toBe("3119dfba-e649-5eec-ab1e-3412bc4d2e17");
  });

  it("parses the COUPON.USE vector with a 32-byte key (V5c)", async () => {
    const parsed = await parseCouponUseNotification(v5c, v5cKeys, V5C_COUPON_USE.now);
    expect(parsed.plaintext).toBe(V5C_COUPON_USE.plaintext);
    expect(parsed.resource.coupon_id).toBe("98674556");
    expect(parsed.resource.consume_information?.transaction_id).toBe("4200000000000000000000000001");
    expect(parsed.envelope.event_type).toBe("COUPON.USE");
  });

  it("verifies with the WeChat Pay public key when Wechatpay-Serial is a PUB_KEY_ID", async () => {
    const headers = { ...V5C_COUPON_USE.headers, "Wechatpay-Serial": PUB_KEY_ID };
    const parsed = await parseCouponUseNotification(
      { headers, body: v5c.body },
      { ...v5cKeys, verificationKeys: publicKeyKeys },
      V5C_COUPON_USE.now,
    );
    expect(parsed.serial).toBe(PUB_KEY_ID);
  });

  it("accepts lower-case header names as API Gateway delivers them", async () => {
    const headers = Object.fromEntries(Object.entries(V5C_COUPON_USE.headers).map(([k, v]) => [k.toLowerCase(), v]));
    await expect(
      parseCouponUseNotification({ headers, body: v5c.body }, v5cKeys, V5C_COUPON_USE.now),
    ).resolves.toBeDefined();
  });

  const refusals: [string, () => Promise<unknown>, string][] = [
    [
      "a WECHATPAY/SIGNTEST/ probe (V5d)",
      () =>
        parseNotification(
          { ...v5c, headers: { ...v5c.headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/anything" } },
          v5cKeys,
          V5C_COUPON_USE.now,
        ),
      "SIGNATURE_PROBE",
    ],
    [
      "a timestamp 300 s old",
      () => parseNotification(v5c, v5cKeys, V5C_COUPON_USE.now + 300),
      "TIMESTAMP_OUT_OF_WINDOW",
    ],
    [
      "a timestamp 300 s ahead",
      () => parseNotification(v5c, v5cKeys, V5C_COUPON_USE.now - 300),
      "TIMESTAMP_OUT_OF_WINDOW",
    ],
    [
      "a tampered body",
      () => parseNotification({ ...v5c, body: v5c.body.replace("用券成功", "用券失败") }, v5cKeys, V5C_COUPON_USE.now),
      "SIGNATURE_MISMATCH",
    ],
    [
      "a re-serialised body",
      () =>
        parseNotification({ ...v5c, body: JSON.stringify(JSON.parse(v5c.body), null, 1) }, v5cKeys, V5C_COUPON_USE.now),
      "SIGNATURE_MISMATCH",
    ],
    [
      "an unknown serial",
      () =>
        parseNotification(
          { ...v5c, headers: { ...v5c.headers, "Wechatpay-Serial": "ABCDEF" } },
          v5cKeys,
          V5C_COUPON_USE.now,
        ),
      "UNKNOWN_SERIAL",
    ],
    [
      "a PUB_KEY_ID it does not hold",
      () =>
        parseNotification(
          { ...v5c, headers: { ...v5c.headers, "Wechatpay-Serial": "PUB_KEY_ID_999" } },
          v5cKeys,
          V5C_COUPON_USE.now,
        ),
      "UNKNOWN_SERIAL",
    ],
    [
      "a missing signature header",
      () =>
        parseNotification(
          { ...v5c, headers: { ...v5c.headers, "Wechatpay-Signature": "" } },
          v5cKeys,
          V5C_COUPON_USE.now,
        ),
      "MISSING_HEADER",
    ],
    [
      "a non-numeric timestamp",
      () =>
        parseNotification(
          { ...v5c, headers: { ...v5c.headers, "Wechatpay-Timestamp": "1e9" } },
          v5cKeys,
          V5C_COUPON_USE.now,
        ),
      "BAD_TIMESTAMP",
    ],
  ];
  it.each(refusals)("refuses %s before decrypting", async (_name, run, reason) => {
    const error = await run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignatureVerificationError);
    expect((error as SignatureVerificationError).reason).toBe(reason);
  });

  it("refuses a correctly signed notification under a wrong APIv3 key", async () => {
    await expect(
      parseNotification(v5c, { ...v5cKeys, apiv3Key: "b".repeat(32) }, V5C_COUPON_USE.now),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it("refuses another event type where COUPON.USE is expected", async () => {
    const error = await parseCouponUseNotification(
      { headers: V3_NOTIFICATION.headers, body: V3_NOTIFICATION.body },
      { verificationKeys: certificateKeys, apiv3Key: V3_NOTIFICATION.apiv3Key },
      V3_NOTIFICATION.now,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotificationFormatError);
    expect((error as NotificationFormatError).field).toBe("event_type");
  });

  it("downloads certificates once when a serial is unknown, then verifies", async () => {
    let downloads = 0;
    const keys = new WechatpayVerificationKeys({
      downloadCertificates: async () => {
        downloads++;
        return new Map([["D7CE59D1F522D701", loadPublicKey(TEST_CERTIFICATE_D7CE_PEM)]]);
      },
    });
    await Promise.all(
      [1, 2, 3].map(() => parseCouponUseNotification(v5c, { ...v5cKeys, verificationKeys: keys }, V5C_COUPON_USE.now)),
    );
    expect(downloads).toBe(1);
  });
});

describe("checks before any key", () => {
  const withHeader = (name: string, value: string) => ({ ...v5c, headers: { ...v5c.headers, [name]: value } });
  const envelope = JSON.parse(v5c.body) as { resource: Record<string, unknown> } & Record<string, unknown>;
  const withBody = (change: (e: typeof envelope) => unknown) => ({
    ...v5c,
    body: JSON.stringify(change(structuredClone(envelope))),
  });
  const unverifiable: [string, { headers: Record<string, string>; body: string }, number][] = [
    ["a missing serial", withHeader("Wechatpay-Serial", ""), V5C_COUPON_USE.now],
    ["a serial that is neither hex nor PUB_KEY_ID_", withHeader("Wechatpay-Serial", "../../etc"), V5C_COUPON_USE.now],
    ["a 65-character serial", withHeader("Wechatpay-Serial", "A".repeat(65)), V5C_COUPON_USE.now],
    ["a signature that is not base64", withHeader("Wechatpay-Signature", "not base64!"), V5C_COUPON_USE.now],
    ["a signature of the wrong size", withHeader("Wechatpay-Signature", "AAAA"), V5C_COUPON_USE.now],
    ["another signature type", withHeader("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3"), V5C_COUPON_USE.now],
    ["a nonce with spaces", withHeader("Wechatpay-Nonce", "a b"), V5C_COUPON_USE.now],
    ["a stale timestamp", v5c, V5C_COUPON_USE.now + 300],
    ["a body that is not JSON", { ...v5c, body: "{" }, V5C_COUPON_USE.now],
    ["an envelope without resource", withBody((e) => ({ ...e, resource: undefined })), V5C_COUPON_USE.now],
    [
      "another algorithm",
      withBody((e) => ({ ...e, resource: { ...e.resource, algorithm: "AEAD_SM4_GCM" } })),
      V5C_COUPON_USE.now,
    ],
    [
      "a ciphertext too short for its GCM tag",
      withBody((e) => ({ ...e, resource: { ...e.resource, ciphertext: "AAAA" } })),
      V5C_COUPON_USE.now,
    ],
    ["another event type", withBody((e) => ({ ...e, event_type: "REFUND.SUCCESS" })), V5C_COUPON_USE.now],
  ];
  it.each(unverifiable)("refuses %s without asking for a key", async (_name, request, now) => {
    let asked = 0;
    const keys = async () => {
      asked++;
      return v5cKeys;
    };
    const error = await parseCouponUseNotification(request, keys, now).catch((e: unknown) => e);
    expect(error).toSatisfy((e) => e instanceof SignatureVerificationError || e instanceof NotificationFormatError);
    expect(asked).toBe(0);
  });

  it("asks for the key of a well-formed notification, and only then verifies", async () => {
    let asked = 0;
    const keys = async () => {
      asked++;
      return v5cKeys;
    };
    await expect(parseCouponUseNotification(v5c, keys, V5C_COUPON_USE.now)).resolves.toBeDefined();
    expect(asked).toBe(1);
  });

  it("answers a certificate download that fails as an unknown serial (the notification stays unverified)", async () => {
    const keys = new WechatpayVerificationKeys({
      downloadCertificates: async () => {
        throw new Error("connect ECONNREFUSED");
      },
    });
    const error = await parseCouponUseNotification(
      v5c,
      { ...v5cKeys, verificationKeys: keys },
      V5C_COUPON_USE.now,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignatureVerificationError);
    expect((error as SignatureVerificationError).reason).toBe("UNKNOWN_SERIAL");
  });
});

describe("WechatpayVerificationKeys: certificate refresh for unknown serials", () => {
  const clock = { now: 1_000_000 };
  const counting = () => {
    const calls = { downloads: 0 };
    const keys = new WechatpayVerificationKeys({
      now: () => clock.now,
      downloadCertificates: async () => {
        calls.downloads++;
        return new Map([["D7CE59D1F522D701", loadPublicKey(TEST_CERTIFICATE_D7CE_PEM)]]);
      },
    });
    return { keys, calls };
  };

  it("downloads at most once a minute however many unknown serials arrive", async () => {
    const { keys, calls } = counting();
    const first = clock.now;
    for (let i = 0; i < 60; i++) {
      clock.now = first + i * 1_000;
      await expect(keys.resolve(`ABCDEF${i}`)).rejects.toMatchObject({ reason: "UNKNOWN_SERIAL" });
    }
    // 59 s of unknown serials, one a second: only the first one downloaded.
    expect(calls.downloads).toBe(1);
    clock.now = first + 60_000;
    await expect(keys.resolve("ABCDEF")).rejects.toMatchObject({ reason: "UNKNOWN_SERIAL" });
    expect(calls.downloads).toBe(2);
  });

  it("still resolves a serial the last download brought, without downloading again", async () => {
    const { keys, calls } = counting();
    await expect(keys.resolve("0123")).rejects.toMatchObject({ reason: "UNKNOWN_SERIAL" });
    await expect(keys.resolve("D7CE59D1F522D701")).resolves.toBeDefined();
    expect(calls.downloads).toBe(1);
  });

  it("never downloads for a PUB_KEY_ID, nor without a downloader (public-key mode)", async () => {
    const { keys, calls } = counting();
    await expect(keys.resolve("PUB_KEY_ID_0114232134912410000000000000000000")).rejects.toMatchObject({
      reason: "UNKNOWN_SERIAL",
    });
    expect(calls.downloads).toBe(0);
    await expect(publicKeyKeys.resolve("D7CE59D1F522D701")).rejects.toMatchObject({ reason: "UNKNOWN_SERIAL" });
  });
});
