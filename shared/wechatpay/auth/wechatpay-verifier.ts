import type { KeyObject } from "node:crypto";
import { SignatureVerificationError } from "../errors.js";

export const PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_";

/**
 * Certificate downloads started for an unknown serial: at most one per this interval per key set (one per container).
 * An unknown serial is usually a stranger's (the webhook is public), and WeChat announces a new platform certificate
 * well before signing with it, so a minute costs a genuine rotation at most one minute of retried deliveries.
 */
export const MIN_REFRESH_INTERVAL_MS = 60_000;

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
  private lastRefreshAt: number | undefined;

  constructor(
    private readonly options: {
      publicKey?: { id: string; key: KeyObject };
      certificates?: ReadonlyMap<string, KeyObject>;
      /** Fetches the current platform certificates (serial → key). Without it, nothing is ever downloaded. */
      downloadCertificates?: () => Promise<ReadonlyMap<string, KeyObject>>;
      /** Minimum time between two downloads (default MIN_REFRESH_INTERVAL_MS). */
      minRefreshIntervalMs?: number;
      now?: () => number;
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

  /**
   * Downloads the current certificates, unless a download started less than `minRefreshIntervalMs` ago (successful or
   * not: a failing download is not retried faster). Concurrent callers share one download.
   */
  refresh(): Promise<void> {
    const download = this.options.downloadCertificates;
    if (!download) return Promise.resolve();
    if (this.refreshing) return this.refreshing;
    const now = (this.options.now ?? Date.now)();
    const interval = this.options.minRefreshIntervalMs ?? MIN_REFRESH_INTERVAL_MS;
    if (this.lastRefreshAt !== undefined && now - this.lastRefreshAt < interval) return Promise.resolve();
    this.lastRefreshAt = now;
    this.refreshing = download()
      .then((certificates) => this.setCertificates(certificates))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /**
   * The key for a serial. An unknown certificate serial (never a PUB_KEY_ID) triggers a download, at most one per
   * `minRefreshIntervalMs`; only in platform-certificate mode (a `downloadCertificates` was given).
   */
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
