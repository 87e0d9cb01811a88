import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration, type ProgressOutput } from "./campaign-progress.js";
import { CliUsageError } from "./cli-io.js";
import { type ApiAuth, ApiClient, ApiError } from "./service-client.js";
import { type CredentialsProvider, defaultCredentials, regionOfApiUrl } from "./sigv4-signer.js";

// What every `wxcoupon campaign …` subcommand shares: reaching the API (URL, token or SigV4) and argument checks.

/** Injectable for tests; production uses the defaults. */
export interface CampaignCommandDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  progress?: ProgressOutput;
  /** Where `.local/stack.json` is looked for. Default: the working directory. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  credentials?: CredentialsProvider;
  pollIntervalMs?: number;
  retryBaseMs?: number;
}

/** --api, --token, --region: every subcommand that calls the API takes them. */
export const API_OPTIONS = {
  api: { type: "string" },
  token: { type: "string" },
  region: { type: "string" },
} as const;

interface LocalStackFile {
  api_url: string;
  token: string;
  /** Send and read routes only: all a campaign needs (older stack files have none). */
  send_token?: string;
}

function readStackFile(cwd: string): LocalStackFile | undefined {
  const path = join(cwd, ".local", "stack.json");
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<LocalStackFile>;
    if (typeof parsed.api_url === "string" && typeof parsed.token === "string") return parsed as LocalStackFile;
  } catch {
    // an unreadable stack file is as good as none
  }
  return undefined;
}

/**
 * The API and how to authorize: `--api` (default: the local stack's URL); a bearer token from `--token`, or from the
 * local stack file when `--api` is that stack; otherwise SigV4 with the caller's AWS credentials (a deployed stack).
 */
export async function apiClient(
  values: { api?: string | undefined; token?: string | undefined; region?: string | undefined },
  deps: CampaignCommandDeps,
  say: (line: string) => void,
): Promise<ApiClient> {
  const stack = readStackFile(deps.cwd ?? process.cwd());
  const apiUrl = values.api ?? stack?.api_url;
  if (!apiUrl) throw new CliUsageError("--api is required: no local stack found (.local/stack.json; npm start)");
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new CliUsageError(`--api must be a URL, got ${apiUrl}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new CliUsageError("--api must be http(s)");
  const sameAsStack = stack !== undefined && stack.api_url.replace(/\/+$/, "") === apiUrl.replace(/\/+$/, "");
  const token = values.token ?? (sameAsStack ? (stack.send_token ?? stack.token) : undefined);
  let auth: ApiAuth;
  if (token) auth = { kind: "bearer", token };
  else {
    const env = deps.env ?? process.env;
    const region = values.region ?? regionOfApiUrl(url) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new CliUsageError(`cannot tell the AWS region of ${url.host}: pass --region (or --token)`);
    auth = { kind: "sigv4", region, credentials: deps.credentials ?? (await defaultCredentials()) };
  }
  return new ApiClient({
    baseUrl: apiUrl,
    auth,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.retryBaseMs !== undefined ? { retryBaseMs: deps.retryBaseMs } : {}),
    onRetry: (problem, waitMs) => say(`${problem}; retrying in ${formatDuration(waitMs)}`),
  });
}

export function integerOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new CliUsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

export function matching(value: string, name: string, pattern: RegExp, problem: string): string {
  if (!pattern.test(value))
    throw new CliUsageError(`${name.startsWith("-") || name === name.toUpperCase() ? name : `--${name}`} ${problem}`);
  return value;
}

const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The positional CAMPAIGN_ID of a campaign subcommand, then its options. */
export function idAndOptions(sub: string, argv: string[]): [string, string[]] {
  const [id, ...rest] = argv;
  if (id === undefined || id.startsWith("-")) throw new CliUsageError(`${sub} needs a CAMPAIGN_ID`);
  return [matching(id, "CAMPAIGN_ID", CAMPAIGN_ID, "must be 1-64 letters, digits, _ or -"), rest];
}

/** The service's 404 for the campaign itself (code CAMPAIGN_NOT_FOUND), said plainly; any other error as it came. */
export async function onCampaign<T>(client: ApiClient, id: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === "CAMPAIGN_NOT_FOUND") {
      throw new Error(`no campaign ${id} at ${client.baseUrl}`);
    }
    throw error;
  }
}
