import { type KeyObject, X509Certificate } from "node:crypto";
import type { MerchantCredentials } from "./auth/authorization.js";
import { PUBLIC_KEY_ID_PREFIX, WechatpayVerificationKeys } from "./auth/wechatpay-verifier.js";
import { downloadPlatformCertificates, type PlatformCertificate } from "./certificates.js";
import { certificateSerialNumber, loadPrivateKey, loadPublicKey } from "./crypto/keys.js";
import { WechatPayError, WechatPayValidationError } from "./errors.js";
import { CallbacksApi } from "./favor/callbacks.js";
import type { FavorContext } from "./favor/context.js";
import { CouponsApi } from "./favor/coupons.js";
import { FlowsApi } from "./favor/flows.js";
import { MediaApi } from "./favor/media.js";
import { StocksApi } from "./favor/stocks.js";
import { WechatPayHttpClient, type WechatPayHttpClientOptions } from "./transport/http-client.js";

/** WeChat Pay public key (public-key mode): its `PUB_KEY_ID_…` id and the key as PEM or KeyObject. */
export type WechatpayPublicKeyOption = { id: string; pem: string } | { id: string; key: KeyObject };

/** Transport settings passed through to the HTTP client (documented there). */
const TRANSPORT_OPTIONS = [
  "baseUrl",
  "backupBaseUrl",
  "timeoutMs",
  "maxAttempts",
  "retryRateLimited",
  "backoff",
  "nonce",
  "sleep",
  "random",
  "send",
  "userAgent",
] as const;

export interface WechatPayClientOptions
  extends Pick<WechatPayHttpClientOptions, (typeof TRANSPORT_OPTIONS)[number] | "now"> {
  mchid: string;
  /** Serial of the merchant API certificate (goes into Authorization `serial_no`). */
  merchantSerialNo: string;
  /** The merchant API private key, PKCS#8/PKCS#1 PEM or KeyObject. Parsed once. */
  merchantPrivateKey: KeyObject | string;
  /** The APIv3 key (32 bytes): opens platform certificates and notifications. Never logged. */
  apiv3Key: string | Buffer;
  /** Public-key mode. With `platformCertificates` too, both schemes are accepted (migration). */
  wechatpayPublicKey?: WechatpayPublicKeyOption;
  /**
   * Platform certificates already known (PEM). Giving this (even empty) turns certificate mode on: an unknown serial
   * then downloads certificates, at most once a minute. Leave it out in public-key mode: nothing is downloaded.
   */
  platformCertificates?: string[];
}

export interface WechatPayClient {
  mchid: string;
  http: WechatPayHttpClient;
  stocks: StocksApi;
  coupons: CouponsApi;
  callbacks: CallbacksApi;
  media: MediaApi;
  flows: FlowsApi;
  certificates: {
    /** Downloads, opens and installs the current platform certificates. */
    download(): Promise<PlatformCertificate[]>;
  };
  verificationKeys: WechatpayVerificationKeys;
}

function privateKeyFrom(value: KeyObject | string): KeyObject {
  if (typeof value === "string") return loadPrivateKey(value);
  if (value.type !== "private" || value.asymmetricKeyType !== "rsa") {
    throw new WechatPayError("INVALID_KEY", "merchantPrivateKey must be an RSA private key");
  }
  return value;
}

function checkOptions(options: WechatPayClientOptions): void {
  if (!/^[0-9]{1,20}$/.test(options.mchid ?? "")) throw new WechatPayValidationError("mchid", "must be 1–20 digits");
  if (!/^[0-9A-Fa-f]{1,64}$/.test(options.merchantSerialNo ?? ""))
    throw new WechatPayValidationError("merchantSerialNo", "must be the hex serial of the merchant API certificate");
  const keyLength = Buffer.byteLength(options.apiv3Key ?? "");
  if (keyLength !== 32 && keyLength !== 16)
    throw new WechatPayValidationError("apiv3Key", `must be 32 bytes, got ${keyLength}`);
  if (options.wechatpayPublicKey && !options.wechatpayPublicKey.id.startsWith(PUBLIC_KEY_ID_PREFIX))
    throw new WechatPayValidationError("wechatpayPublicKey.id", `must start with ${PUBLIC_KEY_ID_PREFIX}`);
}

/**
 * Builds a cash-coupon client. Keys are parsed once. Public-key mode when `wechatpayPublicKey` is given; certificate
 * mode otherwise (certificates are downloaded on first need: an unknown `Wechatpay-Serial` triggers one refresh);
 * both when `wechatpayPublicKey` and `platformCertificates` are given.
 *
 * @example
 * const client = createWechatPayClient({
 *   mchid: "1900000001",
 *   merchantSerialNo: "5F1C72E2A8931B72A2E13AF8DEE92471EB397115",
 *   merchantPrivateKey: await readFile("apiclient_key.pem", "utf8"),
 *   apiv3Key,
 *   wechatpayPublicKey: { id: "PUB_KEY_ID_0114…", pem: await readFile("pub_key.pem", "utf8") },
 * });
 * const { coupon_id } = await client.coupons.send(openid, { stock_id, out_request_no, appid });
 */
export function createWechatPayClient(options: WechatPayClientOptions): WechatPayClient {
  checkOptions(options);
  const credentials: MerchantCredentials = {
    mchid: options.mchid,
    serialNo: options.merchantSerialNo.toUpperCase(),
    privateKey: privateKeyFrom(options.merchantPrivateKey),
  };
  const publicKey = options.wechatpayPublicKey
    ? {
        id: options.wechatpayPublicKey.id,
        key:
          "pem" in options.wechatpayPublicKey
            ? loadPublicKey(options.wechatpayPublicKey.pem)
            : options.wechatpayPublicKey.key,
      }
    : undefined;
  const certificates = new Map<string, KeyObject>(
    (options.platformCertificates ?? []).map((pem) => [
      certificateSerialNumber(pem),
      new X509Certificate(pem).publicKey,
    ]),
  );
  const certificateMode = !publicKey || options.platformCertificates !== undefined;
  const now = options.now ?? Date.now;

  // The keys download certificates through the transport, and the transport verifies with the keys.
  let http: WechatPayHttpClient | undefined;
  const download = () => downloadPlatformCertificates(http!, { apiv3Key: options.apiv3Key, knownKeys: keys, now });
  const keys: WechatpayVerificationKeys = new WechatpayVerificationKeys({
    ...(publicKey ? { publicKey } : {}),
    certificates,
    now,
    ...(certificateMode ? { downloadCertificates: async () => toKeyMap(await download()) } : {}),
  });
  http = new WechatPayHttpClient({
    credentials,
    verificationKeys: keys,
    // The key we can verify goes in Wechatpay-Serial: WeChat then signs its answer with it
    // (docs/wechatpay-apiv3-security.md#choosing-the-verification-key).
    wechatpaySerial: () => keys.knownSerials[0],
    now,
    ...pick(options, TRANSPORT_OPTIONS),
  });
  const context: FavorContext = { http, mchid: options.mchid, now };
  return {
    mchid: options.mchid,
    http,
    stocks: new StocksApi(context),
    coupons: new CouponsApi(context),
    callbacks: new CallbacksApi(context),
    media: new MediaApi(context),
    flows: new FlowsApi(context),
    certificates: {
      async download() {
        const list = await download();
        keys.setCertificates(toKeyMap(list));
        return list;
      },
    },
    verificationKeys: keys,
  };
}

const toKeyMap = (list: PlatformCertificate[]): Map<string, KeyObject> =>
  new Map(list.map((c) => [c.serialNo, c.publicKey]));

function pick<T extends object, K extends keyof T>(source: T, names: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const name of names) if (source[name] !== undefined) out[name] = source[name];
  return out;
}
