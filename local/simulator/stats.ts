import type { FaultKind, SimulatorStats } from "./types.js";

/** Counters since start (or the last reset); `coupons_issued` and `stocks_created` come from the store. */
export class Counters {
  requests_total = 0;
  send_requests = 0;
  send_replays = 0;
  notifications_sent = 0;
  notifications_acknowledged = 0;
  notifications_failed_attempts = 0;
  notifications_abandoned = 0;
  faults_injected = 0;
  faults_by_kind: Record<FaultKind, number> = { "500": 0, "429": 0, timeout: 0 };
  rate_limited = 0;
  signature_failures = 0;

  reset(): void {
    Object.assign(this, new Counters());
  }

  snapshot(extra: { coupons_issued: number; stocks_created: number; notifications_pending: number }): SimulatorStats {
    return {
      coupons_issued: extra.coupons_issued,
      stocks_created: extra.stocks_created,
      requests_total: this.requests_total,
      send_requests: this.send_requests,
      send_replays: this.send_replays,
      notifications_sent: this.notifications_sent,
      notifications_acknowledged: this.notifications_acknowledged,
      notifications_failed_attempts: this.notifications_failed_attempts,
      notifications_abandoned: this.notifications_abandoned,
      notifications_pending: extra.notifications_pending,
      faults_injected: this.faults_injected,
      faults_by_kind: { ...this.faults_by_kind },
      rate_limited: this.rate_limited,
      signature_failures: this.signature_failures,
    };
  }
}
