import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { ResourceNotFoundException, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretError } from "../../domain/errors.js";
import type { MerchantSecret, MerchantSecretSource } from "../../domain/ports.js";
import { parseMerchantSecret } from "./merchant-secret-json.js";

export interface SecretsManagerMerchantSecretSourceOptions {
  /** Build it once at module scope: `new SecretsManagerClient({})` (endpoint from `AWS_ENDPOINT_URL_SECRETS_MANAGER`). */
  client: SecretsManagerClient;
  /** Secret name or ARN (env `SECRET_ID`). */
  secretId: string;
  /**
   * Cache lifetime in seconds (default 300). Powertools' own default is 5 s, which at scale costs real money in
   * GetSecretValue calls (docs/aws-notes.md#secrets-manager-caching); minutes are fine because rotation is rare and
   * announced.
   */
  maxAgeSeconds?: number;
}

/**
 * `MerchantSecretSource` over Secrets Manager through Powertools Parameters (`SecretsProvider`, which caches the raw
 * string for `maxAgeSeconds`). The parsed secret is memoised (frozen) per raw string, so it is parsed once per change.
 */
export class SecretsManagerMerchantSecretSource implements MerchantSecretSource {
  readonly #provider: SecretsProvider;
  readonly #secretId: string;
  readonly #maxAge: number;
  #parsed: { raw: string; secret: MerchantSecret } | undefined;
  #inFlight: Promise<string> | undefined;

  constructor(options: SecretsManagerMerchantSecretSourceOptions) {
    this.#provider = new SecretsProvider({ awsSdkV3Client: options.client });
    this.#secretId = options.secretId;
    this.#maxAge = options.maxAgeSeconds ?? 300;
  }

  async load(): Promise<MerchantSecret> {
    // Concurrent cold-start loads share one GetSecretValue (Powertools caches results, not calls in flight).
    this.#inFlight ??= this.#fetch().finally(() => {
      this.#inFlight = undefined;
    });
    const raw = await this.#inFlight;
    if (this.#parsed?.raw !== raw) {
      this.#parsed = { raw, secret: Object.freeze(parseMerchantSecret(raw, this.#secretId)) };
    }
    return this.#parsed.secret;
  }

  /** Drops the cache, e.g. after WeChat rejected our signature (a rotated key). */
  clearCache(): void {
    this.#provider.clearCache();
    this.#parsed = undefined;
  }

  async #fetch(): Promise<string> {
    let value: string | Uint8Array | undefined;
    try {
      value = await this.#provider.get(this.#secretId, { maxAge: this.#maxAge });
    } catch (error) {
      // Powertools wraps SDK errors in GetParameterError with the SDK error as `cause`. SDK messages carry no value.
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      if (
        cause instanceof ResourceNotFoundException ||
        (cause as { name?: string })?.name === "ResourceNotFoundException"
      ) {
        // Also what a secret created by the stack answers until the operator puts its value (it is created empty).
        throw new SecretError(
          "SECRET_NOT_FOUND",
          `secret ${this.#secretId} was not found or has no value yet (aws secretsmanager put-secret-value)`,
          { cause },
        );
      }
      const name = (cause as { name?: string })?.name ?? "Error";
      throw new SecretError("SECRET_UNAVAILABLE", `secret ${this.#secretId} could not be read (${name})`, { cause });
    }
    if (value === undefined) throw new SecretError("SECRET_NOT_FOUND", `secret ${this.#secretId} has no value`);
    return typeof value === "string" ? value : Buffer.from(value).toString("utf8");
  }
}
