import { SimulatorError } from "./errors.js";
import type { FaultKind, FaultPhase } from "./types.js";

export const FAULT_KINDS: readonly FaultKind[] = ["500", "429", "timeout"];

export interface FaultSettings {
  error_rate: number;
  kinds: FaultKind[];
  phase: FaultPhase;
  timeout_ms: number;
  /** Route names (`send-coupon`, `user-coupons`, …) the faults apply to; absent: every WeChat API route. */
  routes?: string[];
}

export interface FaultDecision {
  kind: FaultKind;
  /** "after": the request's state change happens, then its answer is lost to the fault. */
  phase: "before" | "after";
}

/** Retryable failures injected into a share of WeChat API calls (`POST /_simulator/faults`). */
export class Faults {
  settings: FaultSettings;
  private readonly random: () => number;
  private readonly defaultTimeoutMs: number;

  constructor(defaultTimeoutMs: number, random: () => number = Math.random) {
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.random = random;
    this.settings = this.defaults();
  }

  private defaults(): FaultSettings {
    return { error_rate: 0, kinds: [...FAULT_KINDS], phase: "mix", timeout_ms: this.defaultTimeoutMs };
  }

  reset(): void {
    this.settings = this.defaults();
  }

  /** Applies a control request body; throws SimulatorError("BAD_FAULTS") on bad input. */
  configure(body: Record<string, unknown>): FaultSettings {
    const allowed = new Set(["error_rate", "kinds", "phase", "timeout_ms", "routes"]);
    for (const key of Object.keys(body))
      if (!allowed.has(key)) throw new SimulatorError("BAD_FAULTS", `unknown field ${key}`, { field: key });
    const rate = body["error_rate"];
    if (typeof rate !== "number" || !(rate >= 0 && rate <= 1))
      throw new SimulatorError("BAD_FAULTS", "error_rate must be a number in [0, 1]", { field: "error_rate" });
    const next: FaultSettings = { ...this.defaults(), error_rate: rate };
    const kinds = body["kinds"];
    if (kinds !== undefined) {
      if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => FAULT_KINDS.includes(k as FaultKind)))
        throw new SimulatorError("BAD_FAULTS", `kinds must be a non-empty subset of ${FAULT_KINDS.join(", ")}`, {
          field: "kinds",
        });
      next.kinds = kinds as FaultKind[];
    }
    const phase = body["phase"];
    if (phase !== undefined) {
      if (phase !== "before" && phase !== "after" && phase !== "mix")
        throw new SimulatorError("BAD_FAULTS", "phase must be before, after or mix", { field: "phase" });
      next.phase = phase;
    }
    const timeout = body["timeout_ms"];
    if (timeout !== undefined) {
      if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 0)
        throw new SimulatorError("BAD_FAULTS", "timeout_ms must be a non-negative integer", { field: "timeout_ms" });
      next.timeout_ms = timeout;
    }
    const routes = body["routes"];
    if (routes !== undefined) {
      if (!Array.isArray(routes) || routes.length === 0 || !routes.every((r) => typeof r === "string" && r))
        throw new SimulatorError("BAD_FAULTS", "routes must be a non-empty list of route names", { field: "routes" });
      next.routes = routes as string[];
    }
    this.settings = next;
    return next;
  }

  /** Rolls the dice for one API call of route `routeName`. */
  decide(routeName: string): FaultDecision | undefined {
    const { error_rate, kinds, phase, routes } = this.settings;
    if (routes !== undefined && !routes.includes(routeName)) return undefined;
    if (error_rate <= 0 || this.random() >= error_rate) return undefined;
    const kind = kinds[Math.floor(this.random() * kinds.length)] ?? "500";
    const resolved = phase === "mix" ? (this.random() < 0.5 ? "before" : "after") : phase;
    return { kind, phase: resolved };
  }
}
