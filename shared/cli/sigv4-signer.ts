import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

/** AWS credentials as the SDK's providers resolve them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialsProvider = () => Promise<AwsCredentials>;

/** The parts of a request that are signed. */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/**
 * SHA-256 (or HMAC-SHA-256 with a key) on node:crypto, in the shape `@smithy/signature-v4` takes, so no extra
 * hashing package is needed.
 */
class NodeSha256 {
  readonly #secret: Buffer | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : toBuffer(secret);
    this.#hash = this.#fresh();
  }

  update(data: SourceData): void {
    this.#hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash("sha256") : createHmac("sha256", this.#secret);
  }
}

/** What the signer hashes: strings, byte arrays and buffers (`@smithy/types` SourceData). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The region of an API Gateway default endpoint (`{id}.execute-api.{region}.amazonaws.com`), if it is one. */
export function regionOfApiUrl(url: URL): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
}

/**
 * Signs a request to API Gateway (service `execute-api`) with AWS Signature Version 4 and returns the headers to send:
 * the caller's plus `authorization`, `x-amz-date`, `x-amz-content-sha256` and, for temporary credentials,
 * `x-amz-security-token`. `host` is signed but left out of the result (fetch sets the same value). `now` makes tests
 * deterministic.
 */
export async function signRequest(
  request: SignableRequest,
  options: { region: string; credentials: AwsCredentials | CredentialsProvider; now?: Date; service?: string },
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: options.service ?? "execute-api",
    region: options.region,
    credentials: options.credentials,
    sha256: NodeSha256,
  });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const previous = query[name];
    query[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const signed = await signer.sign(
    {
      method: request.method.toUpperCase(),
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port ? { port: Number(request.url.port) } : {}),
      path: request.url.pathname,
      query,
      headers: { ...lowerCase(request.headers), host: request.url.host },
      ...(request.body === undefined ? {} : { body: request.body }),
    },
    options.now ? { signingDate: options.now } : {},
  );
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * The caller's AWS credentials from the SDK's default chain (environment, shared config/SSO, web identity, container
 * and instance metadata), loaded only when a request must be signed.
 */
export async function defaultCredentials(): Promise<CredentialsProvider> {
  const { defaultProvider } = await import("@aws-sdk/credential-provider-node");
  const provider = defaultProvider();
  return async () => {
    try {
      return await provider();
    } catch (error) {
      throw new Error(
        `no AWS credentials to sign the request (${error instanceof Error ? error.message : String(error)}); ` +
          "configure them (AWS_PROFILE, aws sso login, environment) or pass --token",
      );
    }
  };
}
