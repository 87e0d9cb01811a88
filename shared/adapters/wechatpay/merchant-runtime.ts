import { createHash } from "node:crypto";
import { SecretError } from "../../domain/errors.js";
import type { MerchantSecret, MerchantSecretSource, PlatformCertificateCache } from "../../domain/ports.js";
import { createWechatPayClient, type WechatPayClient, type WechatPayClientOptions } from "../../wechatpay/client.js";

/** The merchant's WeChat context: the secret and a client built from it (keys parsed once). */
export interface MerchantContext {
  secret: MerchantSecret;
  client: WechatPayClient;
}

export interface MerchantRuntimeOptions {
  secrets: MerchantSecretSource;
  /**
   * Platform-certificate mode only: certificates shared through the table by cert-refresh, and a download when a
   * serial is unknown. Without it (public-key mode) the client verifies with the secret's WeChat Pay public key and
   * never calls GET /v3/certificates, whatever serial a request names.
   */
  certificates?: PlatformCertificateCache;
  wechatpay: { baseUrl: string; backupBaseUrl: string; timeoutMs: number } & Pick<
    WechatPayClientOptions,
    "retryRateLimited" | "send"
  >;
}

/**
 * Per-container cache of the merchant's WeChat client. The secret source has its own TTL (minutes); the client (and
 * its parsed keys, keep-alive connections and downloaded certificates) lives as long as the secret's content is
 * unchanged.
 */
export class MerchantRuntime {
  #current: { secret: MerchantSecret; fingerprint: string; context: Promise<MerchantContext> } | undefined;

  constructor(private readonly options: MerchantRuntimeOptions) {}

  async get(): Promise<MerchantContext> {
    const secret = await this.options.secrets.load();
    // The source hands back the same object while nothing changed: skip hashing the keys on every send.
    if (this.#current?.secret === secret) return this.#current.context;
    const fingerprint = createHash("sha256").update(JSON.stringify(secret)).digest("hex");
    if (this.#current?.fingerprint === fingerprint) {
      this.#current.secret = secret; // the same content fetched again: identity holds from here on
      return this.#current.context;
    }
    const context = this.#build(secret);
    this.#current = { secret, fingerprint, context };
    context.catch(() => {
      if (this.#current?.context === context) this.#current = undefined;
    });
    return context;
  }

  async #build(secret: MerchantSecret): Promise<MerchantContext> {
    const now = Date.now();
    const hasPublicKey = secret.wechatpayPublicKeyId !== undefined && secret.wechatpayPublicKeyPem !== undefined;
    if (!this.options.certificates && !hasPublicKey) {
      throw new SecretError(
        "SECRET_FIELD_INVALID",
        "public-key mode needs wechatpay_public_key_id and wechatpay_public_key in the merchant secret",
        { field: "wechatpay_public_key" },
      );
    }
    const cached = this.options.certificates ? await this.options.certificates.list() : undefined;
    const client = createWechatPayClient({
      mchid: secret.mchid,
      merchantSerialNo: secret.merchantSerialNo,
      merchantPrivateKey: secret.merchantPrivateKeyPem,
      apiv3Key: secret.apiv3Key,
      ...(secret.wechatpayPublicKeyId && secret.wechatpayPublicKeyPem
        ? { wechatpayPublicKey: { id: secret.wechatpayPublicKeyId, pem: secret.wechatpayPublicKeyPem } }
        : {}),
      // Only in platform-certificate mode: a certificate list (even empty) is what lets the client download.
      ...(cached
        ? { platformCertificates: cached.filter((c) => Date.parse(c.expireTime) > now).map((c) => c.pem) }
        : {}),
      ...this.options.wechatpay,
    });
    return { secret, client };
  }
}
