/** Where the live progress goes (stderr): redrawn in place on a terminal, periodic plain lines otherwise. */
export interface ProgressOutput {
  isTTY: boolean;
  write(text: string): void;
  /** The terminal's width now (it can change while a campaign runs); undefined: unknown, 80 is assumed. */
  columns?: () => number | undefined;
}

/**
 * `GET /campaigns/{campaign_id}` as the CLI reads it (shared/edges/http/response-schemas.ts campaignResponse).
 * `state` is kept open (and a reason read when present) so a newer service's states are shown, not rejected.
 */
export interface CampaignStatus {
  campaign_id: string;
  stock_id: string;
  state: "ACCEPTED" | "SENDING" | "COMPLETED" | (string & {});
  total: number;
  sent: number;
  failed: number;
  pending: number;
  failures_by_code: Record<string, number>;
  rate_per_second: number;
  sealed?: boolean;
  chunks_received?: number;
  /** Why the campaign is in its state (waiting_for_rate, paused…), from services that say. */
  state_reason?: string;
  cancelled?: number;
  /** A retry campaign: whose failures it sends again. */
  retry_of?: { campaign_id: string; attempt: number; codes: string[] };
  /** The campaign's retries, oldest first. */
  retries?: Array<{ campaign_id: string; codes: string[] }>;
  created_at: string;
  updated_at: string;
}

export interface UploadProgress {
  chunksAcked: number;
  chunksTotal: number;
  /** Recipients the file holds: the campaign's total once every chunk is in (the service's total lags until then). */
  expectedTotal?: number;
}

const WINDOW_MS = 10_000;

/** Sends per second over the last ten seconds of samples, and the time left at that rate. */
export class RateMeter {
  readonly #samples: Array<{ at: number; done: number }> = [];

  add(at: number, done: number): void {
    this.#samples.push({ at, done });
    while (this.#samples.length > 2 && at - this.#samples[0]!.at > WINDOW_MS) this.#samples.shift();
  }

  /** Per second; 0 until two samples a moment apart exist. */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < 200) return 0;
    return Math.max(0, ((last.done - first.done) * 1_000) / (last.at - first.at));
  }

  /** Milliseconds until `remaining` more are done; undefined while the rate is unknown. */
  etaMs(remaining: number): number | undefined {
    const rate = this.rate();
    if (remaining <= 0) return 0;
    return rate > 0 ? (remaining / rate) * 1_000 : undefined;
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

const BAR_WIDTH = 24;
const MIN_BAR_WIDTH = 10;
/** What the progress line fits in when the terminal does not say. */
export const DEFAULT_COLUMNS = 80;

/**
 * One progress line: bar, sent, failed, rate, ETA, and the upload while it lasts. With `columns`, the line fits in
 * `columns - 1` characters (a line filling the last column makes some terminals wrap, and then `\r` redraws only the
 * second half, so every update would scroll): the bar narrows first, then the chunk count, the rate and the bar are
 * left out, in that order, and only then is the line cut.
 */
export function formatProgress(
  status: CampaignStatus,
  meter: RateMeter,
  upload?: UploadProgress,
  columns?: number,
): string {
  const done = status.sent + status.failed;
  const total = Math.max(status.total, upload?.expectedTotal ?? 0);
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const eta = meter.etaMs(total - done);
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const bar = (width: number) => {
    const filled = Math.min(width, Math.round(fraction * width));
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${percent}`;
  };
  const sent = `sent ${status.sent}/${total}`;
  const failed = `failed ${status.failed}`;
  const rate = `${Math.round(meter.rate())}/s`;
  const etaText = `ETA ${eta === undefined ? "?" : formatDuration(eta)}`;
  const chunks = upload ? `chunks ${upload.chunksAcked}/${upload.chunksTotal}` : undefined;
  const line = (head: string, parts: Array<string | undefined>, separator = "  ") =>
    [head, ...parts.filter((p): p is string => p !== undefined)].join(separator);

  const full = line(bar(BAR_WIDTH), [sent, failed, rate, etaText, chunks]);
  if (columns === undefined) return full;
  const max = Math.max(1, columns - 1);
  if (full.length <= max) return full;
  const barWidth = BAR_WIDTH - (full.length - max);
  if (barWidth >= MIN_BAR_WIDTH) {
    return line(bar(barWidth), [sent, failed, rate, etaText, chunks]);
  }
  const candidates = [
    line(bar(MIN_BAR_WIDTH), [sent, failed, rate, etaText]),
    line(bar(MIN_BAR_WIDTH), [sent, failed, etaText]),
    line(percent.trimStart(), [sent, failed, etaText]),
    line(percent.trimStart(), [sent, failed, etaText], " "),
  ];
  const fitting = candidates.find((c) => c.length <= max);
  return fitting ?? candidates.at(-1)!.slice(0, max);
}

/**
 * Draws progress: on a terminal the line is redrawn in place (`\r`, clear to end of line) at every update, fitted to
 * the terminal's width; elsewhere (CI logs, pipes) a plain line at most every `plainEveryMs`, so a long campaign does
 * not flood the log. Messages (retries, warnings) go through `message`, which clears the drawn line first and draws
 * it again after, so a message never lands in the middle of the bar.
 */
export class ProgressReporter {
  readonly meter = new RateMeter();
  readonly #out: ProgressOutput;
  readonly #now: () => number;
  readonly #plainEveryMs: number;
  readonly #say: (line: string) => void;
  #lastPlainAt = Number.NEGATIVE_INFINITY;
  #drawn = false;
  #lastLine = "";
  #last: { status: CampaignStatus; upload: UploadProgress | undefined } | undefined;

  constructor(
    out: ProgressOutput,
    now: () => number = Date.now,
    plainEveryMs = 5_000,
    say: (line: string) => void = (line) => out.write(`${line}\n`),
  ) {
    this.#out = out;
    this.#now = now;
    this.#plainEveryMs = plainEveryMs;
    this.#say = say;
  }

  update(status: CampaignStatus, upload?: UploadProgress): void {
    const at = this.#now();
    this.meter.add(at, status.sent + status.failed);
    this.#last = { status, upload: upload ? { ...upload } : undefined };
    if (this.#out.isTTY) {
      this.#draw();
    } else {
      this.#lastLine = formatProgress(status, this.meter, upload);
      if (at - this.#lastPlainAt >= this.#plainEveryMs) {
        this.#out.write(`${this.#lastLine}\n`);
        this.#lastPlainAt = at;
      }
    }
  }

  /** A line of its own (a retry, a warning): never printed into the drawn progress line. */
  message(line: string): void {
    if (this.#out.isTTY && this.#drawn) {
      this.#out.write("\r\u001b[K");
      this.#drawn = false;
      this.#say(line);
      this.#draw();
    } else {
      this.#say(line);
    }
  }

  /** Ends the redrawn line (terminal) or prints the final state once more (plain). */
  finish(): void {
    if (this.#out.isTTY && this.#drawn) this.#out.write("\n");
    else if (!this.#out.isTTY && this.#lastLine) this.#out.write(`${this.#lastLine}\n`);
    this.#drawn = false;
    this.#lastLine = "";
    this.#last = undefined;
  }

  #draw(): void {
    if (!this.#last) return;
    const columns = this.#out.columns?.() || DEFAULT_COLUMNS;
    this.#lastLine = formatProgress(this.#last.status, this.meter, this.#last.upload, columns);
    this.#out.write(`\r${this.#lastLine}\u001b[K`);
    this.#drawn = true;
  }
}

/** Aligned columns (a header row first), for lists. */
export function formatColumns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

/** Two aligned columns, for the summary. */
export function formatTable(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}

/** What counts as movement: any counter, the state, the chunks the service holds or the ones this run posted. */
export function movement(s: CampaignStatus, upload?: UploadProgress): string {
  return [s.state, s.state_reason, s.total, s.sent, s.failed, s.chunks_received, s.sealed, upload?.chunksAcked].join(
    "|",
  );
}

/** The service's view of a campaign, in one phrase for warnings. */
export function reported(s: CampaignStatus): string {
  return [
    `state ${s.state}${s.state_reason ? ` (${s.state_reason})` : ""}`,
    `sent ${s.sent}/${s.total}`,
    `failed ${s.failed}`,
    `pending ${s.pending}`,
    ...(s.chunks_received === undefined ? [] : [`${s.chunks_received} chunks received`]),
    ...(s.sealed === false ? ["not sealed (chunks still expected)"] : []),
    `last change ${s.updated_at}`,
  ].join(", ");
}

/** The live progress on stderr, as wide as the terminal. */
export function stderrProgress(): ProgressOutput {
  return {
    isTTY: process.stderr.isTTY === true,
    write: (text) => process.stderr.write(text),
    // The progress goes to stderr; stdout's width is the same terminal's when stderr has none of its own.
    columns: () => process.stderr.columns || process.stdout.columns || undefined,
  };
}
