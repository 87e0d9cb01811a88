/**
 * Two clocks. The wire clock (`now` option, default Date.now) stamps and checks signatures, so a merchant's
 * five-minute skew check keeps passing. The business clock is the wire clock plus an offset moved by
 * `POST /_simulator/clock`, so tests can expire stocks without breaking signatures.
 */
export class SimulatorClock {
  private readonly wire: () => number;
  private readonly offset: () => number;

  /** `offset` reads the persisted business-clock offset (kept in the store so it survives restarts). */
  constructor(wire: () => number = Date.now, offset: () => number = () => 0) {
    this.wire = wire;
    this.offset = offset;
  }

  /** Milliseconds since the epoch for signatures and download-link lifetimes. */
  wireNow(): number {
    return this.wire();
  }

  /** Milliseconds since the epoch for business rules (stock windows, coupon expiry, create_time). */
  now(): number {
    return this.wire() + this.offset();
  }
}

const BEIJING_OFFSET_MS = 8 * 3_600_000;
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** `2015-05-20T13:29:35+08:00`: WeChat answers in Beijing time. */
export function formatRfc3339(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000 + BEIJING_OFFSET_MS);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+08:00`
  );
}

/** `2020-11-27 16:23:05` (Beijing), the time format of the use-flow CSV. */
export function formatCsvTime(ms: number): string {
  return formatRfc3339(ms).slice(0, 19).replace("T", " ");
}

/**
 * 10:00 Beijing time on the day after the Beijing day of `endMs`: from then on WeChat serves a stock's use-flow and
 * refund-flow files (docs/wechatpay-cash-coupons.md#when-the-files-exist).
 */
export function flowFilesAvailableAt(endMs: number): number {
  const beijingMidnight = Math.floor((endMs + BEIJING_OFFSET_MS) / 86_400_000) * 86_400_000 - BEIJING_OFFSET_MS;
  return beijingMidnight + 86_400_000 + 10 * 3_600_000;
}

/** Beijing calendar day `YYYY-MM-DD`; `max_amount_by_day` counts per Beijing day. */
export function beijingDay(ms: number): string {
  return formatRfc3339(ms).slice(0, 10);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Strict RFC 3339 (with offset); undefined when malformed. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, , mo, d, h, mi, s] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
