/** Where the live progress goes (stderr): redrawn in place on a terminal, periodic plain lines otherwise. */
export interface ProgressOutput {
  isTTY: boolean;
  write(text: string): void;
}

/** `GET /campaigns/{campaign_id}` as the CLI reads it (shared/edges/http/response-schemas.ts campaignResponse). */
export interface CampaignStatus {
  campaign_id: string;
  stock_id: string;
  state: "ACCEPTED" | "SENDING" | "COMPLETED";
  total: number;
  sent: number;
  failed: number;
  pending: number;
  failures_by_code: Record<string, number>;
  rate_per_second: number;
  sealed?: boolean;
  chunks_received?: number;
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

/** One progress line: bar, sent, failed, rate, ETA, and the upload while it lasts. */
export function formatProgress(status: CampaignStatus, meter: RateMeter, upload?: UploadProgress): string {
  const done = status.sent + status.failed;
  const total = Math.max(status.total, upload?.expectedTotal ?? 0);
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const width = 24;
  const filled = Math.min(width, Math.round(fraction * width));
  const eta = meter.etaMs(total - done);
  const parts = [
    `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `sent ${status.sent}/${total}`,
    `failed ${status.failed}`,
    `${Math.round(meter.rate())}/s`,
    `ETA ${eta === undefined ? "?" : formatDuration(eta)}`,
  ];
  if (upload) parts.push(`chunks ${upload.chunksAcked}/${upload.chunksTotal}`);
  return parts.join("  ");
}

/**
 * Draws progress: on a terminal the line is redrawn in place (`\r`, clear to end of line) at every update; elsewhere
 * (CI logs, pipes) a plain line at most every `plainEveryMs`, so a long campaign does not flood the log.
 */
export class ProgressReporter {
  readonly meter = new RateMeter();
  readonly #out: ProgressOutput;
  readonly #now: () => number;
  readonly #plainEveryMs: number;
  #lastPlainAt = Number.NEGATIVE_INFINITY;
  #drawn = false;
  #lastLine = "";

  constructor(out: ProgressOutput, now: () => number = Date.now, plainEveryMs = 5_000) {
    this.#out = out;
    this.#now = now;
    this.#plainEveryMs = plainEveryMs;
  }

  update(status: CampaignStatus, upload?: UploadProgress): void {
    const at = this.#now();
    this.meter.add(at, status.sent + status.failed);
    const line = formatProgress(status, this.meter, upload);
    this.#lastLine = line;
    if (this.#out.isTTY) {
      this.#out.write(`\r${line}\u001b[K`);
      this.#drawn = true;
    } else if (at - this.#lastPlainAt >= this.#plainEveryMs) {
      this.#out.write(`${line}\n`);
      this.#lastPlainAt = at;
    }
  }

  /** Ends the redrawn line (terminal) or prints the final state once more (plain). */
  finish(): void {
    if (this.#out.isTTY && this.#drawn) this.#out.write("\n");
    else if (!this.#out.isTTY && this.#lastLine) this.#out.write(`${this.#lastLine}\n`);
    this.#drawn = false;
    this.#lastLine = "";
  }
}

/** Two aligned columns, for the summary. */
export function formatTable(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n");
}
