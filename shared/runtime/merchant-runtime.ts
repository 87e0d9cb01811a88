import { createHash, type KeyObject } from "node:crypto";
import type { MerchantSecret, MerchantSecretSource, PlatformCertificateCache } from "../domain/ports.js";
import { WechatpayVerificationKeys } from "../wechatpay/auth/wechatpay-verifier.js";
import { loadPublicKey } from "../wechatpay/crypto/keys.js";

/** Everything derived from the merchant secret, rebuilt only when the secret changes (keys parsed once). */
export interface MerchantContext<Client> {
  secret: MerchantSecret;
  verificationKeys: WechatpayVerificationKeys;
  client: Client;
}

export interface MerchantRuntimeOptions<Client> {
  secrets: MerchantSecretSource;
  /** Platform-certificate mode: certificates cached in the table by cert-refresh. */
  certificates?: PlatformCertificateCache;
  /** Builds the WeChat client for a secret; `downloadCertificates` is wired back into the verification keys. */
  createClient(secret: MerchantSecret, verificationKeys: WechatpayVerificationKeys): Client;
  /** Fetches certificates from WeChat when an unknown serial shows up (optional). */
  downloadCertificates?(client: Client): Promise<ReadonlyMap<string, KeyObject>>;
}

/**
 * Per-container cache of the merchant's WeChat context. The secret source has its own TTL (minutes); this keeps the
 * parsed keys and the client for as long as the secret's content is unchanged.
 */
export class MerchantRuntime<Client> {
  #current: { fingerprint: string; context: Promise<MerchantContext<Client>> } | undefined;

  constructor(private readonly options: MerchantRuntimeOptions<Client>) {}

  async get(): Promise<MerchantContext<Client>> {
    const secret = await this.options.secrets.load();
    const fingerprint = fingerprintOf(secret);
    if (this.#current?.fingerprint !== fingerprint) {
      const context = this.#build(secret);
      this.#current = { fingerprint, context };
      context.catch(() => {
        if (this.#current?.context === context) this.#current = undefined;
      });
    }
    return this.#current.context;
  }

  async #build(secret: MerchantSecret): Promise<MerchantContext<Client>> {
    const cached = this.options.certificates ? await this.options.certificates.list() : [];
    const now = Date.now();
    const certificates = new Map(
      cached.filter((c) => Date.parse(c.expireTime) > now).map((c) => [c.serial, loadPublicKey(c.pem)] as const),
    );
    let client: Client | undefined;
    const download = this.options.downloadCertificates;
    const verificationKeys = new WechatpayVerificationKeys({
      ...(secret.wechatpayPublicKeyId && secret.wechatpayPublicKeyPem
        ? { publicKey: { id: secret.wechatpayPublicKeyId, key: loadPublicKey(secret.wechatpayPublicKeyPem) } }
        : {}),
      certificates,
      ...(download ? { downloadCertificates: () => download(client!) } : {}),
    });
    client = this.options.createClient(secret, verificationKeys);
    return { secret, verificationKeys, client };
  }
}

function fingerprintOf(secret: MerchantSecret): string {
  return createHash("sha256").update(JSON.stringify(secret)).digest("hex");
}
