import type { PlatformCertificate, PlatformCertificateCache } from "../../domain/ports.js";

/** In-memory `PlatformCertificateCache` (reference implementation). */
export class MemoryPlatformCertificateCache implements PlatformCertificateCache {
  readonly #items = new Map<string, PlatformCertificate>();

  async put(cert: PlatformCertificate): Promise<void> {
    this.#items.set(cert.serial, structuredClone(cert));
  }

  async list(): Promise<PlatformCertificate[]> {
    return [...this.#items.values()].sort((a, b) => a.serial.localeCompare(b.serial)).map((c) => structuredClone(c));
  }
}
