import type { KeyObject } from "node:crypto";
import { SignatureVerificationError } from "../errors.js";

export const PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_";

/** Resolves WeChat Pay verification keys by `Wechatpay-Serial`. */
export interface VerificationKeySource {
  /** The key for a serial or public-key id, if known now. */
  keyFor(serial: string): KeyObject | undefined;
  /** Called once when a serial is unknown (platform-certificate mode: download certificates again). */
  refresh?(): Promise<void>;
}

/**
 * Verification keys for both WeChat Pay schemes at once (needed during the public-key migration):
 * a serial starting with PUB_KEY_ID_ selects the WeChat Pay public key, anything else a platform certificate.
 */
export class WechatpayVerificationKeys implements VerificationKeySource {
  private readonly certificates = new Map<string, KeyObject>();
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly options: {
      publicKey?: { id: string; key: KeyObject };
      certificates?: ReadonlyMap<string, KeyObject>;
      /** Fetches the current platform certificates (serial → key). */
      downloadCertificates?: () => Promise<ReadonlyMap<string, KeyObject>>;
    } = {},
  ) {
    this.setCertificates(options.certificates ?? new Map());
  }

  keyFor(serial: string): KeyObject | undefined {
    if (serial.startsWith(PUBLIC_KEY_ID_PREFIX)) {
      return this.options.publicKey?.id === serial ? this.options.publicKey.key : undefined;
    }
    return this.certificates.get(serial.toUpperCase());
  }

  setCertificates(certificates: ReadonlyMap<string, KeyObject>): void {
    for (const [serial, key] of certificates) this.certificates.set(serial.toUpperCase(), key);
  }

  get knownSerials(): string[] {
    const ids = this.options.publicKey ? [this.options.publicKey.id] : [];
    return [...ids, ...this.certificates.keys()];
  }

  /** Concurrent callers share one download. */
  refresh(): Promise<void> {
    const download = this.options.downloadCertificates;
    if (!download) return Promise.resolve();
    this.refreshing ??= download()
      .then((certificates) => this.setCertificates(certificates))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** The key for a serial, downloading certificates once when it is unknown. */
  async resolve(serial: string): Promise<KeyObject> {
    let key = this.keyFor(serial);
    if (!key && !serial.startsWith(PUBLIC_KEY_ID_PREFIX) && this.options.downloadCertificates) {
      await this.refresh();
      key = this.keyFor(serial);
    }
    if (!key) {
      throw new SignatureVerificationError("UNKNOWN_SERIAL", `no WeChat Pay key or certificate for serial ${serial}`, {
        serial,
      });
    }
    return key;
  }
}
