/** Messages between the function host (main thread) and one execution environment (worker thread). */

export interface EnvironmentData {
  /** URL of this runtime module (environment.ts), imported by boot.mjs. */
  runtime: string;
  /** URL of the function's entry module, exporting `handler` (functions/<kind>.ts). */
  entry: string;
  functionName: string;
  memorySize: number;
}

export type ToEnvironment = { type: "invoke"; id: number; event: unknown; requestId: string; timeoutMs: number };

export type FromEnvironment =
  | { type: "ready" }
  | { type: "init-error"; name: string; message: string }
  | { type: "result"; id: number; value: unknown; maxHeapUsedBytes: number }
  | { type: "error"; id: number; name: string; message: string };
