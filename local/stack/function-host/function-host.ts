import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { EnvironmentData, FromEnvironment } from "./protocol.js";

/**
 * Heap share of a function's memory size. Lambda's Node.js runtime starts node with
 * `--max-old-space-size` = 90 % of AWS_LAMBDA_FUNCTION_MEMORY_SIZE (the runtime's bootstrap script); the same share
 * is the old-generation limit of a local environment. Not reproduced: memory outside the V8 heap (Buffers, native
 * code) counts toward MemorySize in Lambda but not here, so a local run is at most as strict as AWS on the heap and
 * kinder off it (README, "AWS behaviour → local stack").
 */
export const HEAP_SHARE = 0.9;

export function heapLimitMb(memorySize: number): number {
  return Math.floor(memorySize * HEAP_SHARE);
}

export interface FunctionHostOptions {
  functionName: string;
  /** URL of the module exporting `handler` (functions/<kind>.ts). */
  entry: string;
  /** The function's whole environment: the template's variables plus what Lambda sets (region, credentials). */
  env: Record<string, string>;
  timeoutSeconds: number;
  memorySize: number;
  /**
   * Reserved concurrency: invocations beyond it are throttled (TooManyRequestsException), as Lambda throttles them.
   * Undefined: none (the account's limit, not modelled).
   */
  reservedConcurrency?: number;
  /**
   * Local cap on execution environments, so one machine is not asked for Lambda's 1,000: an invocation that finds
   * every environment busy waits for one. Not an AWS behaviour (README). Default 8.
   */
  maxEnvironments?: number;
  log?: (line: string) => void;
}

/** Lambda's result of one invocation: the handler's value, or a function error as Lambda reports it. */
export type Invocation =
  | {
      ok: true;
      value: unknown;
      /** Wall time of the invocation in its environment (cold start excluded). */
      durationMs: number;
      /**
       * Time spent waiting for an execution environment under the local cap (`maxEnvironments`), before any INIT. Not an
       * AWS behaviour: Lambda starts another environment (or throttles) instead of queueing (README).
       */
      queuedMs: number;
      /** The INIT this invocation waited for, when it got a new environment (Lambda's REPORT `Init Duration`). */
      initDurationMs?: number;
      /** The environment's largest V8 heap use seen during the invocation (sampled), against its MemorySize. */
      maxHeapUsedBytes: number;
    }
  | {
      ok: false;
      /** `Sandbox.Timedout`, `Runtime.OutOfMemory`, `Runtime.ExitError`, `Runtime.InitError`, or the handler's error name. */
      errorType: string;
      errorMessage: string;
    }
  | { ok: false; throttled: true; errorType: "TooManyRequestsException"; errorMessage: string };

export interface FunctionHost {
  invoke(event: unknown): Promise<Invocation>;
  /** The local cap on execution environments (`FunctionHostOptions.maxEnvironments`). */
  readonly maxEnvironments: number;
  /** Execution environments started so far (each one a cold start). */
  readonly coldStarts: number;
  readonly inFlight: number;
  /** Invocations that reached an environment. */
  readonly invocations: number;
  /**
   * The most V8 heap any environment used during an invocation that returned (sampled inside the environment while it
   * runs, environment.ts), for the benchmarks' memory figures; compare it with `heapLimitMb(memorySize)`. One sampler,
   * inside: a second one here (`Worker.getHeapStatistics()` every 200 ms) also asked environments that were being
   * ended for running out of memory, the suspected cause of a SIGABRT of the test process seen once under load.
   */
  readonly peakHeapUsedBytes: number;
  /** The longest invocation that returned (its `durationMs`), for the benchmarks' figures against the Timeout. */
  readonly longestInvocationMs: number;
  stop(): Promise<void>;
}

interface Environment {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  /** performance.now() when the invocation in flight was handed to the environment. */
  invokedAt?: number;
  /** Settles the invocation in flight, if any. */
  settle?: (invocation: Invocation) => void;
}

const RUNTIME = new URL("./environment.ts", import.meta.url).href;
const BOOT = new URL("./boot.mjs", import.meta.url);

/**
 * One Lambda function on this machine: each execution environment is a worker thread with the function's environment
 * variables and a heap limit from its MemorySize, running one invocation at a time. An invocation past the function's
 * Timeout ends its environment (the thread is terminated, so its work stops) and the next invocation gets a fresh one,
 * cold start included; so does an environment that ran out of memory or died.
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html)
 */
export function startFunctionHost(options: FunctionHostOptions): FunctionHost {
  const log = options.log ?? (() => {});
  const maxEnvironments = Math.max(1, options.maxEnvironments ?? 8);
  const environments = new Set<Environment>();
  const waiting: Array<(acquired: { env: Environment; cold: boolean }) => void> = [];
  let coldStarts = 0;
  let inFlight = 0;
  let invocations = 0;
  let peakHeapUsedBytes = 0;
  let longestInvocationMs = 0;
  let stopped = false;
  let nextId = 0;

  function start(): Environment {
    coldStarts++;
    const data: EnvironmentData = {
      runtime: RUNTIME,
      entry: options.entry,
      functionName: options.functionName,
      memorySize: options.memorySize,
    };
    const worker = new Worker(BOOT, {
      workerData: data,
      env: {
        ...options.env,
        AWS_LAMBDA_FUNCTION_NAME: options.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memorySize),
      },
      resourceLimits: { maxOldGenerationSizeMb: heapLimitMb(options.memorySize) },
    });
    const env: Environment = { worker, busy: true, ready: Promise.resolve() };
    env.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromEnvironment) => {
        if (message.type === "ready") resolve();
        else if (message.type === "init-error") reject(new InitError(`${message.name}: ${message.message}`));
        else if (message.type === "result")
          env.settle?.({
            ok: true,
            value: message.value,
            durationMs: performance.now() - (env.invokedAt ?? 0),
            queuedMs: 0,
            maxHeapUsedBytes: message.maxHeapUsedBytes,
          });
        else if (message.type === "error")
          env.settle?.({ ok: false, errorType: message.name, errorMessage: message.message });
      };
      worker.on("message", onMessage);
      worker.on("error", (error: Error & { code?: string }) => {
        const oom = error.code === "ERR_WORKER_OUT_OF_MEMORY";
        const errorType = oom ? "Runtime.OutOfMemory" : "Runtime.ExitError";
        log(`${options.functionName}: execution environment failed (${errorType}): ${error.message}`);
        reject(new InitError(`${errorType}: ${error.message}`));
        env.settle?.({ ok: false, errorType, errorMessage: oom ? "Runtime exited: out of memory" : error.message });
      });
      worker.on("exit", () => {
        environments.delete(env);
        reject(new InitError("Runtime.ExitError: the environment exited during init"));
        env.settle?.({ ok: false, errorType: "Runtime.ExitError", errorMessage: "Runtime exited" });
      });
    });
    env.ready.catch(() => {});
    environments.add(env);
    return env;
  }

  /**
   * An idle environment, a new one if the cap allows, else the next one released (`cold`: a new one, whose INIT the
   * invocation waits for).
   */
  function acquire(): Promise<{ env: Environment; cold: boolean }> {
    for (const env of environments) {
      if (!env.busy) {
        env.busy = true;
        return Promise.resolve({ env, cold: false });
      }
    }
    if (environments.size < maxEnvironments) return Promise.resolve({ env: start(), cold: true });
    return new Promise((resolve) => waiting.push(resolve));
  }

  function release(env: Environment, healthy: boolean): void {
    if (!healthy || stopped) {
      environments.delete(env);
      void env.worker.terminate();
      const next = waiting.shift();
      if (next) next({ env: start(), cold: true });
      return;
    }
    const next = waiting.shift();
    if (next) next({ env, cold: false });
    else env.busy = false;
  }

  async function invoke(event: unknown): Promise<Invocation> {
    if (stopped) return { ok: false, errorType: "Runtime.ExitError", errorMessage: "the function host is stopped" };
    if (options.reservedConcurrency !== undefined && inFlight >= options.reservedConcurrency) {
      return { ok: false, throttled: true, errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded." };
    }
    inFlight++;
    try {
      const queuedAt = performance.now();
      const { env, cold } = await acquire();
      const acquiredAt = performance.now();
      try {
        await env.ready;
      } catch (error) {
        release(env, false);
        return { ok: false, errorType: "Runtime.InitError", errorMessage: (error as Error).message };
      }
      const timeoutMs = options.timeoutSeconds * 1000;
      invocations++;
      const result = await new Promise<Invocation>((resolve) => {
        const timer = setTimeout(() => {
          resolve({
            ok: false,
            errorType: "Sandbox.Timedout",
            // Lambda's own wording in the function's log and error payload.
            errorMessage: `Task timed out after ${options.timeoutSeconds.toFixed(2)} seconds`,
          });
        }, timeoutMs);
        env.settle = (invocation) => {
          clearTimeout(timer);
          resolve(invocation);
        };
        env.invokedAt = performance.now();
        env.worker.postMessage({ type: "invoke", id: nextId++, event, requestId: randomUUID(), timeoutMs });
      });
      env.settle = undefined;
      if (result.ok) {
        result.queuedMs = acquiredAt - queuedAt;
        if (cold) result.initDurationMs = (env.invokedAt ?? acquiredAt) - acquiredAt;
        peakHeapUsedBytes = Math.max(peakHeapUsedBytes, result.maxHeapUsedBytes);
        longestInvocationMs = Math.max(longestInvocationMs, result.durationMs);
      }
      // A timed-out, out-of-memory or dead environment is replaced; a handler error keeps it (as Lambda's Node runtime).
      const healthy =
        result.ok || !["Sandbox.Timedout", "Runtime.OutOfMemory", "Runtime.ExitError"].includes(result.errorType);
      if (!result.ok) log(`${options.functionName}: ${result.errorType}: ${result.errorMessage}`);
      release(env, healthy);
      return result;
    } finally {
      inFlight--;
    }
  }

  return {
    invoke,
    maxEnvironments,
    get coldStarts() {
      return coldStarts;
    },
    get inFlight() {
      return inFlight;
    },
    get invocations() {
      return invocations;
    },
    get peakHeapUsedBytes() {
      return peakHeapUsedBytes;
    },
    get longestInvocationMs() {
      return longestInvocationMs;
    },
    async stop() {
      stopped = true;
      await Promise.all([...environments].map((env) => env.worker.terminate()));
      environments.clear();
    },
  };
}

class InitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InitError";
  }
}
