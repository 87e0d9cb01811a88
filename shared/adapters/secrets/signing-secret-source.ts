import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretError } from "../../domain/errors.js";

/**
 * The event-forwarding signing secret: Secrets Manager JSON `{"signing_secret": "…"}` (docs/events.md#signed-http-forwarding),
 * cached for `maxAgeSeconds`. Errors name the secret, never its value.
 */
export function signingSecretSource(options: {
  client: SecretsManagerClient;
  secretId: string;
  maxAgeSeconds: number;
}) {
  const provider = new SecretsProvider({ awsSdkV3Client: options.client });
  return async (): Promise<string> => {
    const raw = await provider.get(options.secretId, { maxAge: options.maxAgeSeconds });
    let value: unknown;
    try {
      value = JSON.parse(String(raw ?? ""));
    } catch {
      value = undefined;
    }
    const secret = (value as { signing_secret?: unknown } | undefined)?.signing_secret;
    if (typeof secret !== "string" || secret.length < 16) {
      throw new SecretError(
        "SECRET_FIELD_INVALID",
        `${options.secretId}: expected JSON {"signing_secret": "<at least 16 characters>"}`,
        { field: "signing_secret" },
      );
    }
    return secret;
  };
}
