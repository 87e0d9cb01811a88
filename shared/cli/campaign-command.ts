import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  type CampaignStatus,
  formatDuration,
  formatTable,
  type ProgressOutput,
  ProgressReporter,
  type UploadProgress,
} from "./campaign-progress.js";
import { type CliIo, CliUsageError, parseOptions, required } from "./cli-io.js";
import { openidChunks, scanOpenidFile } from "./openid-file.js";
import { type ApiAuth, ApiClient, ApiError } from "./service-client.js";
import { type CredentialsProvider, defaultCredentials, regionOfApiUrl } from "./sigv4-signer.js";
import { readUploadState, stateFileOf, type UploadState, writeUploadState } from "./upload-state.js";

export const CAMPAIGN_USAGE = `usage: wxcoupon campaign send --stock ID --file openids.csv [options]
       wxcoupon campaign status CAMPAIGN_ID [--api URL] [--token T] [--region R] [--json]

send: sends one coupon of stock ID per line of the file (one openid per line; an optional header line "openid";
blank lines are skipped; lines that are not openids are reported with their line numbers and not sent). The file
is streamed in chunks, so any size works. Interrupted? Run the same command again: it resumes where the service
stopped acknowledging, and no recipient is sent twice. Shows live progress, then a summary; failed sends are
written to a CSV (openid,out_request_no,code).

  --stock ID            the stock to send (digits)
  --file PATH           the openids, one per line
  --rate N              sends per second for this campaign (1-500; default: the service's)
  --appid A             the appid the openids belong to (default: the merchant's)
  --campaign-id ID      default: derived from the stock and the file's openids, so re-running resumes it
  --chunk-size N        openids per request (1-10000, default 1000); keep it when resuming
  --failures-out PATH   default: <file>.failures.csv
  Progress is kept in <file>.wxcoupon-state.json.

status: prints a campaign's state and counters.

Both:
  --api URL             the API's base URL; default: the local stack's (.local/stack.json from npm start)
  --token T             bearer token (the local stack's, read from .local/stack.json when --api is that stack);
                        without a token, requests are signed with AWS SigV4 using your AWS credentials
  --region R            for SigV4 when the URL does not say (default: from the execute-api host, or AWS_REGION)`;

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

const API_OPTIONS = {
  api: { type: "string" },
  token: { type: "string" },
  region: { type: "string" },
} as const;

/** `wxcoupon campaign send|status …`; returns the exit code. Usage errors are thrown as `CliUsageError` (exit 2). */
export async function runCampaignCommand(argv: string[], io: CliIo, deps: CampaignCommandDeps = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "send") return sendCampaign(rest, io, deps);
  if (sub === "status") return showStatus(rest, io, deps);
  throw new CliUsageError(
    sub === undefined ? "a subcommand is required: send or status" : `unknown subcommand "${sub}"`,
  );
}

// ---- send ----

async function sendCampaign(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const values = parseOptions(argv, {
    ...API_OPTIONS,
    stock: { type: "string" },
    file: { type: "string" },
    rate: { type: "string" },
    appid: { type: "string" },
    "campaign-id": { type: "string" },
    "chunk-size": { type: "string" },
    "failures-out": { type: "string" },
  });
  const stockId = matching(required(values, "stock"), "stock", /^[0-9]{1,20}$/, "must be digits");
  const file = required(values, "file");
  if (!isReadableFile(file)) throw new CliUsageError(`cannot read --file ${file}`);
  const rate = values.rate === undefined ? undefined : integerOption("rate", values.rate, 1, 500);
  const chunkSizeOption =
    values["chunk-size"] === undefined ? undefined : integerOption("chunk-size", values["chunk-size"], 1, 10_000);
  const appid =
    values.appid === undefined
      ? undefined
      : matching(values.appid, "appid", /^[A-Za-z0-9_-]{1,32}$/, "is not an appid");
  const chosenId =
    values["campaign-id"] === undefined
      ? undefined
      : matching(values["campaign-id"], "campaign-id", /^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -");
  const failuresOut = values["failures-out"] ?? `${file}.failures.csv`;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const client = await apiClient(values, deps, io);

  const scan = await scanOpenidFile(file, stockId);
  for (const bad of scan.badLines) io.err(`line ${bad.lineNo}: not an openid, skipped: ${JSON.stringify(bad.text)}`);
  if (scan.badCount > scan.badLines.length) io.err(`… and ${scan.badCount - scan.badLines.length} more bad lines`);
  if (scan.count === 0) throw new Error(`no openid in ${file}: nothing to send`);

  const campaignId = chosenId ?? `csv-${scan.fingerprint.slice(0, 40)}`;
  const statePath = stateFileOf(file);
  const state = resumeOrStart(readUploadState(statePath), io, statePath, {
    campaignId,
    stockId,
    apiUrl: client.baseUrl,
    count: scan.count,
    chunkSizeOption,
    startedAt: new Date(now()).toISOString(),
  });
  writeUploadState(statePath, state);
  io.err(
    state.chunksAcked > 0
      ? `resuming campaign ${campaignId}: chunks 0-${state.chunksAcked - 1} of ${state.chunksTotal} were acknowledged`
      : `campaign ${campaignId}: ${scan.count} openids in ${state.chunksTotal} chunks of up to ${state.chunkSize}`,
  );

  await openCampaign(client, { campaignId, stockId, appid, rate });

  const progress = new ProgressReporter(deps.progress ?? stderrProgress(), now);
  const upload: UploadProgress = {
    chunksAcked: state.chunksAcked,
    chunksTotal: state.chunksTotal,
    expectedTotal: scan.count,
  };
  const status = () => client.get<CampaignStatus>(`/campaigns/${campaignId}`);
  const stopOnInterrupt = interruptHint(io, progress);
  try {
    let polledAt = Number.NEGATIVE_INFINITY;
    for await (const chunk of openidChunks(file, state.chunkSize)) {
      if (chunk.chunkNo < state.chunksAcked) continue;
      const last = chunk.chunkNo === state.chunksTotal - 1;
      const answer = await postChunk(client, campaignId, chunk.chunkNo, chunk.openids, last);
      state.chunksAcked = chunk.chunkNo + 1;
      state.sealed = answer.sealed;
      writeUploadState(statePath, state);
      upload.chunksAcked = state.chunksAcked;
      if (now() - polledAt >= pollMs) {
        progress.update(await status(), upload);
        polledAt = now();
      }
    }
    let current = await status();
    progress.update(current, upload);
    while (current.state !== "COMPLETED") {
      await sleep(pollMs);
      current = await status();
      progress.update(current, upload);
    }
    progress.finish();

    const failures = await writeFailures(client, campaignId, failuresOut);
    io.out(summary(current, scan.badCount, failures, failuresOut));
    return 0;
  } finally {
    stopOnInterrupt();
  }
}

function resumeOrStart(
  saved: UploadState | undefined,
  io: CliIo,
  statePath: string,
  run: {
    campaignId: string;
    stockId: string;
    apiUrl: string;
    count: number;
    chunkSizeOption: number | undefined;
    startedAt: string;
  },
): UploadState {
  let state = saved;
  if (state && state.campaignId !== run.campaignId) {
    io.err(`note: ${statePath} was for campaign ${state.campaignId}; this run is campaign ${run.campaignId}`);
    state = undefined;
  }
  if (state && run.chunkSizeOption !== undefined && run.chunkSizeOption !== state.chunkSize) {
    // Chunk numbers (and with them the recipients' idempotency keys) depend on the chunk size.
    throw new CliUsageError(
      `campaign ${state.campaignId} was started with --chunk-size ${state.chunkSize}: resume with the same size`,
    );
  }
  const chunkSize = state?.chunkSize ?? run.chunkSizeOption ?? 1_000;
  const chunksTotal = Math.ceil(run.count / chunkSize);
  if (state && state.chunksTotal === chunksTotal && state.chunksAcked <= chunksTotal) return state;
  return {
    version: 1,
    campaignId: run.campaignId,
    stockId: run.stockId,
    apiUrl: run.apiUrl,
    chunkSize,
    chunksTotal,
    chunksAcked: 0,
    sealed: false,
    startedAt: run.startedAt,
  };
}

async function openCampaign(
  client: ApiClient,
  c: { campaignId: string; stockId: string; appid: string | undefined; rate: number | undefined },
): Promise<void> {
  try {
    await client.post("/campaigns", {
      campaign_id: c.campaignId,
      stock_id: c.stockId,
      chunked: true,
      ...(c.appid ? { appid: c.appid } : {}),
      ...(c.rate ? { rate_per_second: c.rate } : {}),
    });
  } catch (error) {
    if (error instanceof ApiError && error.code === "CAMPAIGN_ID_REUSED") {
      throw new Error(
        `campaign ${c.campaignId} already exists with other settings (--appid or --rate differ, or it was not ` +
          "created by this command): re-run with the same options, or pass another --campaign-id",
      );
    }
    throw error;
  }
}

interface ChunkAnswer {
  accepted: number;
  replayed: boolean;
  total: number;
  sealed: boolean;
}

async function postChunk(
  client: ApiClient,
  campaignId: string,
  chunkNo: number,
  openids: string[],
  last: boolean,
): Promise<ChunkAnswer> {
  try {
    return await client.post<ChunkAnswer>(`/campaigns/${campaignId}/chunks`, {
      chunk_no: chunkNo,
      openids,
      ...(last ? { last: true } : {}),
    });
  } catch (error) {
    if (error instanceof ApiError && (error.code === "CHUNK_CONFLICT" || error.code === "CHUNK_AFTER_LAST")) {
      throw new Error(
        `chunk ${chunkNo} does not match what campaign ${campaignId} received before (${error.code}): the file or ` +
          "--chunk-size changed since the campaign started; send a changed file with another --campaign-id",
      );
    }
    throw error;
  }
}

/** Every failed send, page by page, into a CSV (replaced atomically; just the header when nothing failed). */
async function writeFailures(client: ApiClient, campaignId: string, path: string): Promise<number> {
  const rows = ["openid,out_request_no,code"];
  let cursor: string | undefined;
  do {
    const page = await client.get<{
      data: Array<{ openid: string; out_request_no: string; code: string }>;
      cursor?: string;
    }>(`/campaigns/${campaignId}/failures${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const f of page.data) rows.push([f.openid, f.out_request_no, f.code].map(csvField).join(","));
    cursor = page.cursor;
  } while (cursor);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${rows.join("\n")}\n`);
  renameSync(temporary, path);
  return rows.length - 1;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function summary(status: CampaignStatus, badLines: number, failures: number, failuresOut: string): string {
  const durationMs = Date.parse(status.updated_at) - Date.parse(status.created_at);
  const done = status.sent + status.failed;
  const rows: Array<[string, string]> = [
    ["Campaign", status.campaign_id],
    ["Stock", status.stock_id],
    ["State", status.state],
    ["Recipients", String(status.total)],
    ["Sent", String(status.sent)],
    ["Failed", String(status.failed)],
    ...Object.entries(status.failures_by_code)
      .sort(([, a], [, b]) => b - a)
      .map(([code, n]): [string, string] => [`  ${code}`, String(n)]),
    ["Lines skipped", String(badLines)],
    [
      "Duration",
      durationMs > 0 ? `${formatDuration(durationMs)} (${Math.round((done * 1_000) / durationMs)}/s on average)` : "-",
    ],
    ["Failures file", `${failuresOut} (${failures} ${failures === 1 ? "row" : "rows"})`],
  ];
  return formatTable(rows);
}

function interruptHint(io: CliIo, progress: ProgressReporter): () => void {
  const onSigint = () => {
    progress.finish();
    io.err("interrupted: run the same command again to resume (acknowledged chunks are not sent again)");
    process.exit(130);
  };
  process.once("SIGINT", onSigint);
  return () => process.off("SIGINT", onSigint);
}

// ---- status ----

async function showStatus(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const [id, ...rest] = argv;
  if (id === undefined || id.startsWith("-")) throw new CliUsageError("status needs a CAMPAIGN_ID");
  matching(id, "CAMPAIGN_ID", /^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ or -");
  const values = parseOptions(rest, { ...API_OPTIONS, json: { type: "boolean" } });
  const client = await apiClient(values, deps, io);
  let status: CampaignStatus;
  try {
    status = await client.get<CampaignStatus>(`/campaigns/${id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new Error(`no campaign ${id} at ${client.baseUrl}`);
    throw error;
  }
  if (values.json) {
    io.out(JSON.stringify(status, null, 2));
    return 0;
  }
  io.out(
    formatTable([
      ["Campaign", status.campaign_id],
      ["Stock", status.stock_id],
      ["State", status.state],
      ["Sealed", status.sealed === undefined ? "-" : status.sealed ? "yes" : "no (chunks still expected)"],
      ["Chunks", String(status.chunks_received ?? "-")],
      ["Recipients", String(status.total)],
      ["Sent", String(status.sent)],
      ["Failed", String(status.failed)],
      ...Object.entries(status.failures_by_code).map(([code, n]): [string, string] => [`  ${code}`, String(n)]),
      ["Pending", String(status.pending)],
      ["Rate limit", `${status.rate_per_second}/s`],
      ["Created", status.created_at],
      ["Updated", status.updated_at],
    ]),
  );
  return 0;
}

// ---- shared ----

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
async function apiClient(
  values: { api?: string | undefined; token?: string | undefined; region?: string | undefined },
  deps: CampaignCommandDeps,
  io: CliIo,
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
    onRetry: (problem, waitMs) => io.err(`${problem}; retrying in ${formatDuration(waitMs)}`),
  });
}

function integerOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new CliUsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

function matching(value: string, name: string, pattern: RegExp, problem: string): string {
  if (!pattern.test(value))
    throw new CliUsageError(`${name.startsWith("-") || name === name.toUpperCase() ? name : `--${name}`} ${problem}`);
  return value;
}

function isReadableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function stderrProgress(): ProgressOutput {
  return { isTTY: process.stderr.isTTY === true, write: (text) => process.stderr.write(text) };
}
