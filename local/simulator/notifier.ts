import type { Counters } from "./stats.js";
import type { LogFn } from "./types.js";

/**
 * WeChat's COUPON.USE schedule, "通知频率为1min1次，总计9次": nine attempts in all, one minute apart
 * (docs/wechatpay-cash-coupons.md#notification-retries).
 */
export const WECHAT_NOTIFY_ATTEMPTS = 9;
export const WECHAT_NOTIFY_INTERVAL_MS = 60_000;
export const WECHAT_NOTIFY_TIMEOUT_MS = 5_000;
const MAX_DELIVERY_RECORDS = 10_000;

export interface NotificationDelivery {
  id: string;
  url: string;
  event_type: string;
  attempts: number;
  acknowledged: boolean;
  abandoned: boolean;
  last_status: number | string | undefined;
}

export interface NotifierOptions {
  /** Time between two attempts (WeChat: one minute); the number of attempts is always WeChat's nine. */
  intervalMs: number;
  timeoutMs: number;
  /** Fresh Wechatpay-* headers for each attempt (timestamp and nonce change; id and body do not). */
  signHeaders(body: string): Promise<Record<string, string>>;
  counters: Counters;
  log: LogFn;
}

/** Delivers notifications and retries them on non-2xx, connection errors and timeouts. */
export class Notifier {
  private readonly options: NotifierOptions;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  readonly deliveries: NotificationDelivery[] = [];

  constructor(options: NotifierOptions) {
    this.options = options;
  }

  /** Notifications not yet acknowledged nor abandoned. */
  pending(): number {
    return this.deliveries.filter((d) => !d.acknowledged && !d.abandoned).length;
  }

  enqueue(url: string, id: string, eventType: string, body: string): NotificationDelivery {
    const delivery: NotificationDelivery = {
      id,
      url,
      event_type: eventType,
      attempts: 0,
      acknowledged: false,
      abandoned: false,
      last_status: undefined,
    };
    this.deliveries.push(delivery);
    // Keep the record list bounded for long-running `npm start` sessions: drop the oldest finished deliveries.
    if (this.deliveries.length > MAX_DELIVERY_RECORDS) {
      const finished = this.deliveries.findIndex((d) => d.acknowledged || d.abandoned);
      if (finished >= 0) this.deliveries.splice(finished, 1);
    }
    this.schedule(delivery, body, 0);
    return delivery;
  }

  private schedule(delivery: NotificationDelivery, body: string, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(delivery, body);
    }, delayMs);
    this.timers.add(timer);
  }

  private async attempt(delivery: NotificationDelivery, body: string): Promise<void> {
    if (this.stopping.signal.aborted || delivery.abandoned) return;
    const { counters, log } = this.options;
    delivery.attempts += 1;
    counters.notifications_sent += 1;
    let ok = false;
    try {
      const headers = await this.options.signHeaders(body);
      const response = await fetch(delivery.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopping.signal]),
      });
      await response.arrayBuffer().catch(() => undefined);
      delivery.last_status = response.status;
      ok = response.status >= 200 && response.status < 300;
    } catch (error) {
      delivery.last_status = error instanceof Error && error.name === "TimeoutError" ? "timeout" : "connection_error";
    }
    if (ok) {
      delivery.acknowledged = true;
      counters.notifications_acknowledged += 1;
      log(`notification ${delivery.id} acknowledged after ${delivery.attempts} attempt(s)`);
      return;
    }
    counters.notifications_failed_attempts += 1;
    if (this.stopping.signal.aborted) return;
    if (delivery.attempts >= WECHAT_NOTIFY_ATTEMPTS) {
      delivery.abandoned = true;
      counters.notifications_abandoned += 1;
      log(`notification ${delivery.id} abandoned after ${delivery.attempts} attempt(s)`);
      return;
    }
    log(
      `notification ${delivery.id} attempt ${delivery.attempts} failed (${delivery.last_status}); retry in ${this.options.intervalMs} ms`,
    );
    this.schedule(delivery, body, this.options.intervalMs);
  }

  /** Drops every queued retry (reset). */
  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const d of this.deliveries) if (!d.acknowledged) d.abandoned = true;
    this.deliveries.length = 0;
  }

  stop(): void {
    this.stopping.abort();
    this.clear();
  }
}
