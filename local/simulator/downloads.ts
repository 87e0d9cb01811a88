import { createHash, randomBytes } from "node:crypto";

/**
 * How long a use-flow / refund-flow download URL stays valid
 * (docs/wechatpay-cash-coupons.md#use-flow-and-refund-flow-files-e13-e14).
 */
export const DOWNLOAD_URL_TTL_MS = 30_000;

interface Download {
  body: Buffer;
  mchid: string;
  expiresAt: number;
}

/** Short-lived `/v3/billdownload/file?token=…` links. Kept in memory only (they live 30 s anyway). */
export class DownloadTokens {
  private readonly files = new Map<string, Download>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Stores a file and returns its token and SHA-1 (lower-case hex, as `hash_value`). */
  add(body: Buffer, mchid: string): { token: string; sha1: string } {
    const now = this.now();
    for (const [token, file] of this.files) if (file.expiresAt <= now) this.files.delete(token);
    const token = randomBytes(24).toString("base64url");
    this.files.set(token, { body, mchid, expiresAt: now + DOWNLOAD_URL_TTL_MS });
    return { token, sha1: createHash("sha1").update(body).digest("hex") };
  }

  /** The file, "expired", or undefined when the token was never issued (or issued to another merchant). */
  get(token: string, mchid: string): Buffer | "expired" | undefined {
    const file = this.files.get(token);
    if (!file || file.mchid !== mchid) return undefined;
    if (file.expiresAt <= this.now()) return "expired";
    return file.body;
  }

  clear(): void {
    this.files.clear();
  }
}
