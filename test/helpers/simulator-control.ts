import type { LocalStack } from "#local/stack/start-local-stack.js";

export interface SimulatorFaults {
  error_rate: number;
  kinds?: ("500" | "429" | "timeout")[];
  phase?: "before" | "after" | "mix";
  timeout_ms?: number;
  /** Simulator route names the faults apply to (e.g. `send-coupon`); absent: all. */
  routes?: string[];
}

/** `POST /_simulator/faults`: that share of WeChat API calls fails; `{ error_rate: 0 }` stops. */
export async function setSimulatorFaults(stack: Pick<LocalStack, "simulatorUrl">, faults: SimulatorFaults) {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(faults),
  });
  if (response.status !== 200) throw new Error(`set faults: ${response.status} ${await response.text()}`);
}

/** `POST /_simulator/replays`: whether a replayed send meets a new send's checks before its first coupon_id. */
export async function setReplayChecks(stack: Pick<LocalStack, "simulatorUrl">, checks: boolean) {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/replays`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ checks }),
  });
  if (response.status !== 200) throw new Error(`set replays: ${response.status} ${await response.text()}`);
}

/** Coupons in the simulator's ledger per out_request_no, for the given keys (all keys when omitted). */
export function couponsPerKey(stack: Pick<LocalStack, "simulator">, keys?: Iterable<string>): Map<string, number> {
  const wanted = keys === undefined ? undefined : new Set(keys);
  const counts = new Map<string, number>();
  for (const row of stack.simulator.ledger()) {
    if (wanted && !wanted.has(row.out_request_no)) continue;
    counts.set(row.out_request_no, (counts.get(row.out_request_no) ?? 0) + 1);
  }
  return counts;
}

/** Keys with more than one coupon (each extra coupon counts once). */
export function duplicateCoupons(counts: Map<string, number>): number {
  return [...counts.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
}

/** `POST /_simulator/permissions`: withdraws (false) or restores (true) a merchant's right to send coupons. */
export async function setSendPermission(stack: Pick<LocalStack, "simulatorUrl">, mchid: string, send: boolean) {
  const response = await fetch(`${stack.simulatorUrl}/_simulator/permissions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ mchid, send_coupons: send }),
  });
  if (response.status !== 200) throw new Error(`set permissions: ${response.status} ${await response.text()}`);
}
