import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";
import { API_OPTIONS, apiClient, type CampaignCommandDeps, idAndOptions, onCampaign } from "./api-access.js";
import { formatDuration, formatTable } from "./campaign-progress.js";
import { type CliIo, CliUsageError, parseOptions } from "./cli-io.js";

// `wxcoupon campaign report|export`: what became of a campaign's coupons, as a table and a chart, or as CSV files.

const DEFAULT_COLUMNS = 80;
const json = (value: unknown) => JSON.stringify(value, null, 2);

/** `GET /campaigns/{id}/report` as the CLI reads it (shared/edges/http/response-schemas.ts campaignReportResponse). */
export interface CampaignReport {
  campaign_id: string;
  stock_id: string;
  recipients: number;
  sent: number;
  failed: number;
  failures_by_code: Record<string, number>;
  cancelled: number;
  used: number;
  used_amount: number;
  redemption_rate: number;
  first_used_at?: string;
  time_to_use: { fastest_seconds?: number; median_seconds?: number };
  uses_by_day: { day: string; uses: number }[];
}

/** `…/exports` and `…/exports/{export_id}` as the CLI reads them (campaignExportResponse). */
interface ExportAnswer {
  export_id: string;
  what: "coupons" | "failures";
  state: string;
  rows_written: number;
  bytes?: number;
  invocations: number;
  download_url?: string;
  error?: { code: string; message: string };
}

const yuan = (fen: number) => `¥${(fen / 100).toFixed(2)}`;
const seconds = (s: number | undefined) => (s === undefined ? "–" : formatDuration(s * 1000));

// ---- report ----

export async function showReport(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const [id, rest] = idAndOptions("report", argv);
  const values = parseOptions(rest, { ...API_OPTIONS, json: { type: "boolean" } });
  const client = await apiClient(values, deps, (line) => io.err(line));
  const report = await onCampaign(client, id, () => client.get<CampaignReport>(`/campaigns/${id}/report`));
  if (values.json) {
    io.out(json(report));
    return 0;
  }
  // The terminal's width; in a pipe, COLUMNS if the shell exported it (as `ls` and `git` read it), else 80.
  const fromEnv = Number((deps.env ?? process.env).COLUMNS);
  const columns =
    deps.progress?.columns?.() || process.stdout.columns || (fromEnv > 0 ? fromEnv : undefined) || DEFAULT_COLUMNS;
  io.out(formatReport(report, columns));
  return 0;
}

/** The report as a table, then its uses by day as a bar chart no wider than `columns`. */
export function formatReport(r: CampaignReport, columns: number): string {
  const table = formatTable([
    ["Campaign", r.campaign_id],
    ["Stock", r.stock_id],
    ["Recipients", String(r.recipients)],
    ["Sent", String(r.sent)],
    ["Failed", String(r.failed)],
    ...Object.entries(r.failures_by_code)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([code, n]): [string, string] => [`  ${code}`, String(n)]),
    ...(r.cancelled ? [["Cancelled", String(r.cancelled)] as [string, string]] : []),
    ["Used", String(r.used)],
    ["Used amount", yuan(r.used_amount)],
    ["Redemption", `${(r.redemption_rate * 100).toFixed(2)}%`],
    ["First use", r.first_used_at ?? "–"],
    [
      "Time to use",
      `fastest ${seconds(r.time_to_use.fastest_seconds)}, median ${seconds(r.time_to_use.median_seconds)}`,
    ],
  ]);
  return `${table}\n\nUses by day\n${usesByDayChart(r.uses_by_day, columns)}`;
}

/**
 * One line per day from the first use to the last (days without uses included, so gaps show), each a bar scaled to
 * the busiest day and fitted into `columns - 1` characters (a full last column makes some terminals wrap).
 */
export function usesByDayChart(days: { day: string; uses: number }[], columns: number): string {
  if (days.length === 0) return "  (no uses yet)";
  const counts = new Map(days.map((d) => [d.day, d.uses]));
  const sorted = [...counts.keys()].sort();
  const all: string[] = [];
  for (let t = Date.parse(`${sorted[0]}T00:00:00Z`); t <= Date.parse(`${sorted.at(-1)}T00:00:00Z`); t += 86_400_000) {
    all.push(new Date(t).toISOString().slice(0, 10));
  }
  const max = Math.max(...counts.values());
  const countWidth = String(max).length;
  // "YYYY-MM-DD │" + bar + " " + count
  const barWidth = Math.max(1, Math.min(60, columns - 1 - 11 - 1 - 1 - countWidth - 1));
  return all
    .map((day) => {
      const uses = counts.get(day) ?? 0;
      const length = uses === 0 ? 0 : Math.max(1, Math.round((uses / max) * barWidth));
      return `${day} │${"█".repeat(length)}${" ".repeat(barWidth - length)} ${String(uses).padStart(countWidth)}`;
    })
    .join("\n");
}

// ---- export ----

export async function exportCampaign(argv: string[], io: CliIo, deps: CampaignCommandDeps): Promise<number> {
  const [id, rest] = idAndOptions("export", argv);
  const values = parseOptions(rest, {
    ...API_OPTIONS,
    what: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
  });
  const what = values.what;
  if (what !== "coupons" && what !== "failures") throw new CliUsageError("--what must be coupons or failures");
  const out = values.out ?? `${id}-${what}.csv`;
  const client = await apiClient(values, deps, (line) => io.err(line));
  const sleep = deps.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const interval = deps.pollIntervalMs ?? 1_000;

  let answer = await onCampaign(client, id, () => client.post<ExportAnswer>(`/campaigns/${id}/exports`, { what }));
  io.err(`export ${answer.export_id} of ${id}'s ${what}: ${answer.state}`);
  let shown = answer.rows_written;
  while (answer.state !== "COMPLETED") {
    if (answer.state === "FAILED") {
      throw new Error(`export ${answer.export_id} failed: ${answer.error?.code}: ${answer.error?.message}`);
    }
    await sleep(interval);
    answer = await client.get<ExportAnswer>(`/campaigns/${id}/exports/${answer.export_id}`);
    if (answer.rows_written !== shown) {
      shown = answer.rows_written;
      io.err(`  ${shown} rows written`);
    }
  }
  // The link is presigned: fetched as it is, without the API's credentials. Written beside the target, then moved,
  // so an interrupted download never leaves a partial file under the name asked for.
  const response = await (deps.fetch ?? fetch)(answer.download_url!);
  if (!response.ok || response.body === null) throw new Error(`download failed: HTTP ${response.status}`);
  const partial = `${out}.part`;
  try {
    await pipeline(Readable.fromWeb(response.body as never), createWriteStream(partial));
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  if (values.json) io.out(json({ ...answer, file: out }));
  else
    io.out(
      `${answer.rows_written} ${what === "coupons" ? "coupons" : "failures"} (${answer.bytes} bytes) written to ${out}`,
    );
  return 0;
}
