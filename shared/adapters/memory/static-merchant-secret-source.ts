import type { MerchantSecret, MerchantSecretSource } from "../../domain/ports.js";
import { parseMerchantSecret } from "../secrets/merchant-secret-json.js";

/**
 * `MerchantSecretSource` over a fixed value (unit tests, or locally generated dev keys). Given JSON text it applies the
 * same parsing and validation as the Secrets Manager adapter, at `load()` time.
 */
export class StaticMerchantSecretSource implements MerchantSecretSource {
  readonly #value: MerchantSecret | string;
  #loaded: MerchantSecret | undefined;
  loads = 0;

  constructor(value: MerchantSecret | string) {
    this.#value = typeof value === "string" ? value : structuredClone(value);
  }

  async load(): Promise<MerchantSecret> {
    this.loads += 1;
    // Parsed at the first load (an invalid value fails every load), then the same frozen object.
    this.#loaded ??= Object.freeze(
      typeof this.#value === "string" ? parseMerchantSecret(this.#value, "static") : structuredClone(this.#value),
    );
    return this.#loaded;
  }
}
