import { renameSync, statSync, writeFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { API_OPTIONS, apiClient, type CampaignCommandDeps, integerOption, matching } from "./api-access.js";
import {
  type CampaignStatus,
  formatDuration,
  formatTable,
  movement,
  ProgressReporter,
  reported,
  stderrProgress,
  type UploadProgress,
} from "./campaign-progress.js";
import { exportCampaign, showReport } from "./campaign-report-command.js";
import { controlCampaign, listCampaigns, listFailures, retryCampaign } from "./campaign-steer-command.js";
import { type CliIo, CliUsageError, parseOptions, required } from "./cli-io.js";
import { openidChunks, scanOpenidFile } from "./openid-file.js";
import { type ApiClient, ApiError } from "./service-client.js";
import { parseDuration, StallWatch } from "./stall-watch.js";
import { readUploadState, stateFileOf, type UploadState, writeUploadState } from "./upload-state.js";

/** Without progress for this long, `send` says so (once per stall) with what the service reports. */
export const STALL_WARNING_MS = 60_000;

export const CAMPAIGN_USAGE = `usage: wxcoupon campaign send --stock ID --file openids.csv [options]
       wxcoupon campaign status CAMPAIGN_ID [--json]
       wxcoupon campaign list [--state S] [--stock ID] [--limit N] [--cursor C] [--json]
       wxcoupon campaign pause|resume|cancel CAMPAIGN_ID [--json]
       wxcoupon campaign retry CAMPAIGN_ID --codes CODE[,CODE…] [--wait] [--allow-failures] [--stall-timeout T] [--json]
       wxcoupon campaign failures CAMPAIGN_ID [--json]
       wxcoupon campaign report CAMPAIGN_ID [--json]
       wxcoupon campaign export CAMPAIGN_ID --what coupons|failures [--out FILE] [--json]
       (each also takes --api URL, --token T, --region R)

send: sends one coupon of stock ID per openid of the file, then waits until every send has its outcome. The file is
one openid per line (an optional header line "openid"), or a CSV with a header row: the openids are the column
named "openid", or the one --column names. Blank lines are skipped; lines that are not openids are reported with
their line numbers and not sent. The file is streamed in chunks, so any size works. Interrupted? Run the same
command again: it resumes where the service stopped acknowledging, and no recipient is sent twice. Shows live
progress (fitted to the terminal), then a summary; failed sends are written to a CSV (openid,out_request_no,code)
that is itself a valid --file: sending it again retries exactly those recipients, as a new campaign.

  --stock ID            the stock to send (digits)
  --file PATH           the openids: one per line, or a CSV with a header row
  --column NAME         the header's column holding the openids (default: "openid")
  --rate N              sends per second for this campaign (1-500; default: the service's)
  --appid A             the appid the openids belong to (default: the merchant's)
  --campaign-id ID      default: derived from the stock and the file's openids, so re-running resumes it
  --chunk-size N        openids per request (1-10000, default 1000); keep it when resuming
  --failures-out PATH   default: <file>.failures.csv (written at the end, also when nothing failed)
  --allow-failures      exit 0 even when some recipients failed (they are still in the failures file)
  --stall-timeout T     give up (exit 4) when nothing moved for T (90, 90s, 10m, 2h); without it the command
                        keeps waiting, with a warning after ${formatDuration(STALL_WARNING_MS)} without progress
  --restart             upload from the first chunk again, even if the state file says chunks were acknowledged
                        (when the service lost the campaign; recipients keep their out_request_no, so none gets
                        a second coupon)
  --json                print the final result as one JSON object on stdout (progress stays on stderr)
  Progress is kept in <file>.wxcoupon-state.json.

  Exit codes: 0 every recipient sent (or --allow-failures); 1 error (API unreachable, refused request…);
  2 bad arguments; 3 the campaign completed but some recipients failed; 4 no progress for --stall-timeout;
  5 the service no longer has the campaign this file was resuming (run again with --restart); 130 interrupted.

status: prints a campaign's state and counters, its retries or the campaign it retries (--json: the service's
answer as is).

list: the merchant's campaigns, newest first: --state (ACCEPTED, SCHEDULED, SENDING, PAUSED, CANCELLING,
COMPLETED), --stock, at most --limit (default 20; --cursor C continues where the last list stopped).

pause, resume, cancel: steer a running campaign. A pause is answered once no send can start any more; a cancel is
final (the unsent recipients are recorded CANCELLED, never sent). Asking for the state it is in changes nothing.

retry: sends a COMPLETED campaign's failed recipients of --codes again, as a new campaign (its retry, with new
out_request_nos; no recipient is in two retries of one campaign). Fills the retry request by request until every
recipient is in; running it again continues or, once complete, changes nothing. --wait then follows its progress
like send, and exits 3 when some failed again (--allow-failures: 0) or 4 after --stall-timeout without progress.
Its own failures are retried with "wxcoupon campaign retry RETRY_ID --codes …".

failures: every failed send of a campaign as CSV (openid,out_request_no,code; a valid --file for send), or JSON.

report: sent, failed by code, used, used amount, redemption, time to use, and a chart of uses by day that fits the
terminal's width (--json: the service's report).

export: asks the service for a CSV file of the campaign's coupons (--what coupons: coupon_id, openid, state, used_at,
amounts, …) or failures (--what failures), waits while it is written and downloads it to --out (default
CAMPAIGN_ID-WHAT.csv). Any size: the service writes it into a file of its own and the download streams.

All:
  --api URL             the API's base URL; default: the local stack's (.local/stack.json from npm start)
  --token T             bearer token (the local stack's, read from .local/stack.json when --api is that stack);
                        without a token, requests are signed with AWS SigV4 using your AWS credentials
  --region R            for SigV4 when the URL does not say (default: from the execute-api host, or AWS_REGION)`;

/** `campaign send`'s exit codes (documented in CAMPAIGN_USAGE and the README); 1 and 2 are main's. */
export const EXIT_RECIPIENTS_FAILED = 3;
export const EXIT_STALLED = 4;
export const EXIT_CAMPAIGN_LOST = 5;

/** `wxcoupon campaign send|status|list|pause|resume|cancel|retry|failures|report|export …`; returns the exit code. Usage errors are thrown as `CliUsageError` (exit 2). */
export async function runCampaignCommand(argv: string[], io: CliIo, deps: CampaignCommandDeps = {}): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "send") return sendCampaign(rest, io, deps);
  if (sub === "status") return showStatus(rest, io, deps);
  if (sub === "list") return listCampaigns(rest, io, deps);
  if (sub === "pause" || sub === "resume" || sub === "cancel") return controlCampaign(sub, rest, io, deps);
  if (sub === "retry") return retryCampaign(rest, io, deps);
  if (sub === "failures") return listFailures(rest, io, deps);
  if (sub === "report") return showReport(rest, io, deps);
  if (sub === "export") return exportCampaign(rest, io, deps);
  throw new CliUsageError(
    sub === undefined
      ? "a subcommand is required: send, status, list, pause, resume, cancel, retry, failures, report or export"
      : `unknown subcommand "${sub}"`,
  );
}

// ---- send ----

/** The service does not have (all of) the campaign this run resumes: polling it would wait forever. */
class CampaignLostError extends Error {
  constructor(
    readonly campaignId: string,
    readonly chunksAcked: number,
    readonly chunksKnown: number,
  ) {
    super(`campaign ${campaignId} lost`);
    this.name = "CampaignLostError";
  }
}

type SendOutcome = "completed" | "completed_with_failures" | "stalled" | "campaign_lost";

async function sendCampaign(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const values = parseOptions(argv, {
    ...API_OPTIONS,
    stock: { type: "string" },
    file: { type: "string" },
    column: { type: "string" },
    rate: { type: "string" },
    appid: { type: "string" },
    "campaign-id": { type: "string" },
    "chunk-size": { type: "string" },
    "failures-out": { type: "string" },
    "allow-failures": { type: "boolean" },
    "stall-timeout": { type: "string" },
    restart: { type: "boolean" },
    json: { type: "boolean" },
  });
  const stockId = matching(required(values, "stock"), "stock", /^[0-9]{1,20}$/, "must be digits");
  const file = required(values, "file");
  if (!isReadableFile(file)) throw new CliUsageError(`cannot read --file ${file}`);
  if (values.column !== undefined && values.column.trim() === "") throw new CliUsageError("--column needs a name");
  const fileOptions = { column: values.column?.trim() };
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
  let stallTimeoutMs: number | undefined;
  if (values["stall-timeout"] !== undefined) {
    stallTimeoutMs = parseDuration(values["stall-timeout"]);
    if (stallTimeoutMs === undefined)
      throw new CliUsageError(
        `--stall-timeout must be a duration like 90, 90s, 10m or 2h, got ${values["stall-timeout"]}`,
      );
  }
  const failuresOut = values["failures-out"] ?? `${file}.failures.csv`;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const progress = new ProgressReporter(deps.progress ?? stderrProgress(), now, undefined, (line) => io.err(line));
  const say = (line: string) => progress.message(line);
  const client = await apiClient(values, deps, say);

  const scan = await scanOpenidFile(file, stockId, fileOptions);
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
    restart: values.restart === true,
    startedAt: new Date(now()).toISOString(),
  });
  writeUploadState(statePath, state);
  if (scan.retry) io.err(`${file} is a failures file: sending its ${scan.count} recipients again as a new campaign`);
  io.err(
    state.chunksAcked > 0
      ? `resuming campaign ${campaignId}: chunks 0-${state.chunksAcked - 1} of ${state.chunksTotal} were acknowledged`
      : `campaign ${campaignId}: ${scan.count} openids in ${state.chunksTotal} chunks of up to ${state.chunkSize}`,
  );

  const result = (outcome: SendOutcome, exitCode: number, extra: Record<string, unknown>) => ({
    outcome,
    exit_code: exitCode,
    campaign_id: campaignId,
    openids_read: scan.count,
    lines_skipped: scan.badCount,
    ...extra,
  });
  const status = async () => {
    try {
      return await client.get<CampaignStatus>(`/campaigns/${campaignId}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404)
        throw new CampaignLostError(campaignId, state.chunksAcked, 0);
      throw error;
    }
  };
  const stopOnInterrupt = interruptHint(io, progress);
  try {
    if (state.chunksAcked > 0) {
      // Resuming: the service must still hold every chunk the state file says it acknowledged. Otherwise the chunks
      // after them would make a campaign that can never be sealed, and the wait below would poll it forever.
      const known = await status();
      if ((known.chunks_received ?? state.chunksAcked) < state.chunksAcked)
        throw new CampaignLostError(campaignId, state.chunksAcked, known.chunks_received ?? 0);
    }
    await openCampaign(client, { campaignId, stockId, appid, rate });

    const upload: UploadProgress = {
      chunksAcked: state.chunksAcked,
      chunksTotal: state.chunksTotal,
      expectedTotal: scan.count,
    };
    const watch = new StallWatch(now, Math.min(STALL_WARNING_MS, stallTimeoutMs ?? STALL_WARNING_MS), stallTimeoutMs);
    let polledAt = Number.NEGATIVE_INFINITY;
    for await (const chunk of openidChunks(file, state.chunkSize, fileOptions)) {
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
      const verdict = watch.observe(movement(current, upload));
      if (verdict === "warn") {
        say(
          `warning: no progress for ${formatDuration(watch.stillForMs())}; the service reports ${reported(current)}. ` +
            `Still waiting${stallTimeoutMs === undefined ? " (--stall-timeout T gives up after T)" : ""}; ` +
            "Ctrl-C stops, and the same command resumes.",
        );
      } else if (verdict === "give-up") {
        progress.finish();
        const failures = await writeFailuresSoFar(client, campaignId, failuresOut, io);
        io.err(
          `error: no progress for ${formatDuration(watch.stillForMs())} (--stall-timeout ${values["stall-timeout"]}): ` +
            `giving up; the service reports ${reported(current)}. The campaign was not cancelled: run the same ` +
            `command again to keep waiting, or see "wxcoupon campaign status ${campaignId}".`,
        );
        if (values.json)
          io.out(
            json(result("stalled", EXIT_STALLED, { campaign: current, ...failuresFields(failuresOut, failures) })),
          );
        return EXIT_STALLED;
      }
      await sleep(pollMs);
      current = await status();
      progress.update(current, upload);
    }
    progress.finish();

    const failures = await writeFailures(client, campaignId, failuresOut);
    const someFailed = current.failed > 0 || failures > 0;
    const exitCode = someFailed && !values["allow-failures"] ? EXIT_RECIPIENTS_FAILED : 0;
    if (values.json) {
      io.out(
        json(
          result(someFailed ? "completed_with_failures" : "completed", exitCode, {
            campaign: current,
            ...failuresFields(failuresOut, failures),
          }),
        ),
      );
    } else {
      io.out(summary(current, scan.badCount, failures, failuresOut));
      if (someFailed) {
        const retry = commandLine(["campaign", "send", ...retryArgs(argv, failuresOut)]);
        const codes = Object.keys(current.failures_by_code).sort().join(",");
        const linked = commandLine(["campaign", "retry", campaignId, "--codes", codes, "--wait", ...apiArgs(argv)]);
        io.out(
          `\n${current.failed} ${current.failed === 1 ? "recipient" : "recipients"} failed` +
            `${exitCode ? ` (exit ${exitCode}; --allow-failures exits 0)` : ""}. To send them again:\n  ${retry}\n` +
            `or, as a retry of this campaign (pick the codes worth retrying):\n  ${linked}`,
        );
      }
    }
    return exitCode;
  } catch (error) {
    if (!(error instanceof CampaignLostError)) throw error;
    progress.finish();
    const restart = commandLine(["campaign", "send", ...withoutOption(argv, "restart", false), "--restart"]);
    io.err(
      `error: the service at ${client.baseUrl} no longer has campaign ${campaignId}: ${statePath} says ` +
        `${error.chunksAcked} of ${state.chunksTotal} chunks were acknowledged, the service holds ` +
        `${error.chunksKnown === 0 ? "none" : error.chunksKnown} (was it restarted without its data, or is --api ` +
        "another service than before?). Waiting would never end. Start it again from the first chunk; every " +
        "recipient keeps its out_request_no, so none who already has a coupon gets a second one:\n" +
        `  ${restart}${tokenNote(argv)}`,
    );
    if (values.json)
      io.out(
        json(
          result("campaign_lost", EXIT_CAMPAIGN_LOST, {
            chunks_acknowledged: error.chunksAcked,
            chunks_on_service: error.chunksKnown,
            restart_command: restart,
          }),
        ),
      );
    return EXIT_CAMPAIGN_LOST;
  } finally {
    stopOnInterrupt();
  }
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

const failuresFields = (path: string, rows: number | undefined) => ({
  failures_file: rows === undefined ? null : path,
  failures_rows: rows ?? null,
});

/** The failures so far, when giving up: the file is always written; a failure to fetch them is only reported. */
async function writeFailuresSoFar(
  client: ApiClient,
  campaignId: string,
  path: string,
  io: CliIo,
): Promise<number | undefined> {
  try {
    const rows = await writeFailures(client, campaignId, path);
    io.err(`failed sends so far: ${rows} (${path})`);
    return rows;
  } catch (error) {
    io.err(`could not write ${path}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/** A command line to copy: the token's value is never printed (it is a secret), a placeholder stands for it. */
function commandLine(args: string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--token") {
      shown.push(arg, "<token>");
      i++;
    } else if (arg.startsWith("--token=")) shown.push("--token=<token>");
    else shown.push(shellQuote(arg));
  }
  return `wxcoupon ${shown.join(" ")}`;
}

function tokenNote(argv: string[]): string {
  return argv.some((a) => a === "--token" || a.startsWith("--token="))
    ? "\n(put your token where it says <token>: tokens are never printed)"
    : "";
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** argv without `--name` (and its value unless the option is a flag). */
function withoutOption(argv: string[], name: string, takesValue: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) {
      if (takesValue) i++;
    } else if (!arg.startsWith(`--${name}=`)) out.push(arg);
  }
  return out;
}

/** The same send, of the failures file: API, stock, appid and rate kept; what belonged to the first file dropped. */
function retryArgs(argv: string[], failuresOut: string): string[] {
  let args = argv;
  for (const name of ["file", "column", "campaign-id", "failures-out", "chunk-size"])
    args = withoutOption(args, name, true);
  for (const name of ["restart", "json"]) args = withoutOption(args, name, false);
  return [...args, "--file", failuresOut];
}

/** The options of argv that say which API and how to reach it (--api, --token, --region). */
function apiArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = Object.keys(API_OPTIONS).find((o) => arg === `--${o}` || arg.startsWith(`--${o}=`));
    if (name === undefined) continue;
    out.push(arg);
    if (arg === `--${name}` && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
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
    restart: boolean;
    startedAt: string;
  },
): UploadState {
  let state = saved;
  if (state && state.campaignId !== run.campaignId) {
    io.err(`note: ${statePath} was for campaign ${state.campaignId}; this run is campaign ${run.campaignId}`);
    state = undefined;
  }
  if (state && state.apiUrl !== run.apiUrl) {
    // Another service never saw those chunks: resuming there would wait for chunks it will never get.
    io.err(`note: ${statePath} was for the API at ${state.apiUrl}; this run starts afresh at ${run.apiUrl}`);
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
  if (state && state.chunksTotal === chunksTotal && state.chunksAcked <= chunksTotal) {
    // --restart keeps the chunk size (the recipients' out_request_nos) and forgets only what was acknowledged.
    return run.restart ? { ...state, chunksAcked: 0, sealed: false } : state;
  }
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
    ["State", stateLine(status)],
    ["Recipients", String(status.total)],
    ["Sent", String(status.sent)],
    ["Failed", String(status.failed)],
    ...Object.entries(status.failures_by_code)
      .sort(([, a], [, b]) => b - a)
      .map(([code, n]): [string, string] => [`  ${code}`, String(n)]),
    ...cancelledRow(status),
    ["Lines skipped", String(badLines)],
    [
      "Duration",
      durationMs > 0 ? `${formatDuration(durationMs)} (${Math.round((done * 1_000) / durationMs)}/s on average)` : "-",
    ],
    ["Failures file", `${failuresOut} (${failures} ${failures === 1 ? "row" : "rows"})`],
  ];
  return formatTable(rows);
}

/** The state with its reason when the service gives one: a cancelled campaign ends COMPLETED (cancelled). */
function stateLine(status: CampaignStatus): string {
  return status.state_reason ? `${status.state} (${status.state_reason})` : status.state;
}

/** Recipients a cancel withdrew: neither sent nor failed, so the summary says where they went. */
function cancelledRow(status: CampaignStatus): Array<[string, string]> {
  return status.cancelled ? [["Cancelled", String(status.cancelled)]] : [];
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
  const client = await apiClient(values, deps, (line) => io.err(line));
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
      ["State", stateLine(status)],
      ["Sealed", status.sealed === undefined ? "-" : status.sealed ? "yes" : "no (chunks still expected)"],
      ["Chunks", String(status.chunks_received ?? "-")],
      ["Recipients", String(status.total)],
      ["Sent", String(status.sent)],
      ["Failed", String(status.failed)],
      ...Object.entries(status.failures_by_code).map(([code, n]): [string, string] => [`  ${code}`, String(n)]),
      ...cancelledRow(status),
      ["Pending", String(status.pending)],
      ["Rate limit", `${status.rate_per_second}/s`],
      ...(status.retry_of
        ? [
            [
              "Retry of",
              `${status.retry_of.campaign_id} (attempt ${status.retry_of.attempt}, ${status.retry_of.codes.join(", ")})`,
            ] as [string, string],
          ]
        : []),
      ...(status.retries ?? []).map((r): [string, string] => [
        "Retried by",
        `${r.campaign_id} (${r.codes.join(", ")})`,
      ]),
      ["Created", status.created_at],
      ["Updated", status.updated_at],
    ]),
  );
  return 0;
}

function isReadableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
