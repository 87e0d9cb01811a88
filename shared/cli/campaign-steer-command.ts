import { setTimeout as delay } from "node:timers/promises";
import {
  API_OPTIONS,
  apiClient,
  type CampaignCommandDeps,
  idAndOptions,
  integerOption,
  matching,
  onCampaign,
} from "./api-access.js";
import {
  type CampaignStatus,
  formatColumns,
  formatDuration,
  formatTable,
  movement,
  ProgressReporter,
  reported,
  stderrProgress,
} from "./campaign-progress.js";
import { type CliIo, CliUsageError, parseOptions, required } from "./cli-io.js";
import { parseDuration, StallWatch } from "./stall-watch.js";

// `wxcoupon campaign list|pause|resume|cancel|retry|failures`: steering campaigns that run on the service.

/** Exit code of `retry --wait` when some recipients failed again (as `campaign send`). */
export const EXIT_RETRY_FAILED = 3;
/** Exit code of `retry --wait` after --stall-timeout without progress (as `campaign send`). */
export const EXIT_RETRY_STALLED = 4;
/** Without progress for this long, `retry --wait` says so (once per stall). */
const STALL_WARNING_MS = 60_000;

const CAMPAIGN_STATES = ["ACCEPTED", "SCHEDULED", "SENDING", "PAUSED", "CANCELLING", "COMPLETED"];
const FAILURE_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** `GET /campaigns` as the CLI reads it. */
interface CampaignPage {
  data: CampaignStatus[];
  cursor?: string;
}

/** `POST /campaigns/{id}/retry` as the CLI reads it (shared/edges/http/response-schemas.ts campaignRetryResponse). */
interface RetryAnswer {
  campaign: CampaignStatus;
  parent_campaign_id: string;
  attempt: number;
  codes: string[];
  created: boolean;
  filling_complete: boolean;
  pages_added: number;
}

interface Failure {
  openid: string;
  out_request_no: string;
  code: string;
  message?: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

// ---- list ----

export async function listCampaigns(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const values = parseOptions(argv, {
    ...API_OPTIONS,
    state: { type: "string" },
    stock: { type: "string" },
    limit: { type: "string" },
    cursor: { type: "string" },
    json: { type: "boolean" },
  });
  const state = values.state?.toUpperCase();
  if (state !== undefined && !CAMPAIGN_STATES.includes(state))
    throw new CliUsageError(`--state must be one of ${CAMPAIGN_STATES.join(", ")}`);
  const stock =
    values.stock === undefined ? undefined : matching(values.stock, "stock", /^[0-9]{1,20}$/, "must be digits");
  const limit = values.limit === undefined ? 20 : integerOption("limit", values.limit, 1, 1_000);
  const client = await apiClient(values, deps, (line) => io.err(line));

  // With a filter the service may answer short (even empty) pages with a cursor: follow them up to the limit.
  const campaigns: CampaignStatus[] = [];
  let cursor = values.cursor;
  do {
    const query = new URLSearchParams({ limit: String(Math.min(100, limit - campaigns.length)) });
    if (state) query.set("state", state);
    if (stock) query.set("stock_id", stock);
    if (cursor) query.set("cursor", cursor);
    const page = await client.get<CampaignPage>(`/campaigns?${query}`);
    campaigns.push(...page.data);
    cursor = page.cursor;
  } while (cursor && campaigns.length < limit);

  if (values.json) {
    io.out(json({ data: campaigns, ...(cursor ? { cursor } : {}) }));
    return 0;
  }
  if (campaigns.length === 0) io.out("no campaigns");
  else {
    io.out(
      formatColumns([
        ["CAMPAIGN", "STATE", "STOCK", "SENT/TOTAL", "FAILED", "CREATED", "RETRY OF"],
        ...campaigns.map((c) => [
          c.campaign_id,
          `${c.state}${c.state_reason ? ` (${c.state_reason})` : ""}`,
          c.stock_id,
          `${c.sent}/${c.total}`,
          String(c.failed),
          c.created_at,
          c.retry_of?.campaign_id ?? "",
        ]),
      ]),
    );
  }
  if (cursor) io.err(`more campaigns: --cursor ${cursor}`);
  return 0;
}

// ---- pause, resume, cancel ----

export async function controlCampaign(
  action: "pause" | "resume" | "cancel",
  argv: string[],
  io: CliIo,
  deps: CampaignCommandDeps,
): Promise<number> {
  const [id, rest] = idAndOptions(action, argv);
  const values = parseOptions(rest, { ...API_OPTIONS, json: { type: "boolean" } });
  const client = await apiClient(values, deps, (line) => io.err(line));
  const answer = await onCampaign(client, id, () =>
    client.post<{ campaign: CampaignStatus; changed: boolean }>(`/campaigns/${id}/${action}`, {}),
  );
  if (values.json) {
    io.out(json(answer));
    return 0;
  }
  const c = answer.campaign;
  const done = { pause: "paused", resume: "resumed", cancel: "cancelled" }[action];
  io.out(
    `campaign ${id} ${answer.changed ? done : `was already ${done === "resumed" ? "running" : done}`}: ` +
      `${c.state}${c.state_reason ? ` (${c.state_reason})` : ""}, sent ${c.sent}/${c.total}, failed ${c.failed}` +
      `${c.cancelled ? `, cancelled ${c.cancelled}` : ""}`,
  );
  return 0;
}

// ---- retry ----

export async function retryCampaign(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const [id, rest] = idAndOptions("retry", argv);
  const values = parseOptions(rest, {
    ...API_OPTIONS,
    codes: { type: "string" },
    wait: { type: "boolean" },
    "allow-failures": { type: "boolean" },
    "stall-timeout": { type: "string" },
    json: { type: "boolean" },
  });
  const codes = [
    ...new Set(
      required(values, "codes")
        .split(",")
        .map((c) => c.trim().toUpperCase()),
    ),
  ].filter(Boolean);
  const bad = codes.find((c) => !FAILURE_CODE.test(c));
  if (codes.length === 0 || bad !== undefined)
    throw new CliUsageError(`--codes must be failure codes separated by commas (e.g. SYSTEM_ERROR,NOT_ENOUGH)`);
  let stallTimeoutMs: number | undefined;
  if (values["stall-timeout"] !== undefined) {
    stallTimeoutMs = parseDuration(values["stall-timeout"]);
    if (stallTimeoutMs === undefined)
      throw new CliUsageError(`--stall-timeout must be a duration like 90, 90s, 10m or 2h`);
  }
  const client = await apiClient(values, deps, (line) => io.err(line));

  // Each request adds a bounded number of pages; the same request again continues (and once complete, replays).
  let answer: RetryAnswer;
  let requests = 0;
  for (;;) {
    answer = await onCampaign(client, id, () => client.post<RetryAnswer>(`/campaigns/${id}/retry`, { codes }));
    requests++;
    const retryId = answer.campaign.campaign_id;
    if (requests === 1)
      io.err(
        `${answer.created ? "created" : "continuing"} retry ${retryId} of campaign ${id} ` +
          `(attempt ${answer.attempt}, codes ${answer.codes.join(",")})`,
      );
    if (answer.filling_complete) break;
    // Nothing added and not complete: the retry was cancelled, it takes no more recipients.
    if (answer.pages_added === 0) {
      io.err(`retry ${retryId} takes no more recipients (${answer.campaign.state}, ${answer.campaign.state_reason})`);
      break;
    }
    io.err(`retry ${retryId}: ${answer.campaign.total} recipients so far`);
  }
  const retryId = answer.campaign.campaign_id;
  io.err(`retry ${retryId}: ${answer.campaign.total} recipients${answer.filling_complete ? " (all of them)" : ""}`);
  const fields = {
    campaign_id: retryId,
    parent_campaign_id: answer.parent_campaign_id,
    attempt: answer.attempt,
    codes: answer.codes,
    filling_complete: answer.filling_complete,
  };
  if (!values.wait) {
    if (values.json) io.out(json({ ...fields, campaign: answer.campaign }));
    else {
      io.out(retryTable(answer, answer.campaign));
      io.out(`\nFollow it with: wxcoupon campaign status ${retryId}   (or retry with --wait)`);
    }
    return 0;
  }

  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const pollMs = deps.pollIntervalMs ?? 1_000;
  const progress = new ProgressReporter(deps.progress ?? stderrProgress(), now, undefined, (line) => io.err(line));
  const watch = new StallWatch(now, Math.min(STALL_WARNING_MS, stallTimeoutMs ?? STALL_WARNING_MS), stallTimeoutMs);
  let current = await client.get<CampaignStatus>(`/campaigns/${retryId}`);
  progress.update(current);
  while (current.state !== "COMPLETED") {
    const verdict = watch.observe(movement(current));
    if (verdict === "warn") {
      progress.message(
        `warning: no progress for ${formatDuration(watch.stillForMs())}; the service reports ${reported(current)}`,
      );
    } else if (verdict === "give-up") {
      progress.finish();
      io.err(
        `error: no progress for ${formatDuration(watch.stillForMs())}: giving up (the retry was not cancelled); ` +
          `the service reports ${reported(current)}`,
      );
      if (values.json)
        io.out(json({ outcome: "stalled", exit_code: EXIT_RETRY_STALLED, ...fields, campaign: current }));
      return EXIT_RETRY_STALLED;
    }
    await sleep(pollMs);
    current = await client.get<CampaignStatus>(`/campaigns/${retryId}`);
    progress.update(current);
  }
  progress.finish();
  const exitCode = current.failed > 0 && !values["allow-failures"] ? EXIT_RETRY_FAILED : 0;
  if (values.json) {
    const outcome = current.failed > 0 ? "completed_with_failures" : "completed";
    io.out(json({ outcome, exit_code: exitCode, ...fields, campaign: current }));
    return exitCode;
  }
  io.out(retryTable(answer, current));
  if (current.failed > 0) {
    const again = Object.keys(current.failures_by_code).sort().join(",");
    io.out(
      `\n${current.failed} ${current.failed === 1 ? "recipient" : "recipients"} failed again` +
        `${exitCode ? ` (exit ${exitCode}; --allow-failures exits 0)` : ""}. To retry them:\n` +
        `  wxcoupon campaign retry ${retryId} --codes ${again}`,
    );
  }
  return exitCode;
}

function retryTable(answer: RetryAnswer, c: CampaignStatus): string {
  return formatTable([
    ["Retry", c.campaign_id],
    ["Of campaign", answer.parent_campaign_id],
    ["Attempt", String(answer.attempt)],
    ["Codes", answer.codes.join(", ")],
    ["State", `${c.state}${c.state_reason ? ` (${c.state_reason})` : ""}`],
    ["Recipients", `${c.total}${answer.filling_complete ? "" : " so far"}`],
    ["Sent", String(c.sent)],
    ["Failed", String(c.failed)],
    ...Object.entries(c.failures_by_code).map(([code, n]): [string, string] => [`  ${code}`, String(n)]),
  ]);
}

// ---- failures ----

export async function listFailures(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const [id, rest] = idAndOptions("failures", argv);
  const values = parseOptions(rest, { ...API_OPTIONS, json: { type: "boolean" } });
  const client = await apiClient(values, deps, (line) => io.err(line));
  const failures: Failure[] = [];
  let cursor: string | undefined;
  do {
    const page = await onCampaign(client, id, () =>
      client.get<{ data: Failure[]; cursor?: string }>(
        `/campaigns/${id}/failures${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`,
      ),
    );
    failures.push(...page.data);
    cursor = page.cursor;
  } while (cursor);
  if (values.json) io.out(json({ data: failures }));
  else {
    // The same CSV as `campaign send`'s failures file: a valid --file for `campaign send`.
    io.out(
      ["openid,out_request_no,code", ...failures.map((f) => `${f.openid},${f.out_request_no},${f.code}`)].join("\n"),
    );
  }
  return 0;
}
