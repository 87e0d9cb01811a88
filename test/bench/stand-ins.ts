/**
 * The end-to-end bench's out-of-process parts: the WeChat Pay simulator and the AWS stand-ins (dynalite, fauxqs with
 * its S3, fake Secrets Manager: `startEmulators`, started from the options the local stack derives from the template),
 * each in a forked child, so `process.cpuUsage()` of the bench process counts the service's own code (plus the local
 * API Gateway / event-source glue) and not theirs. The stand-ins' child forwards the table's change records, so the
 * stack's stream mapping and events publisher run as they do in-process. Each child reports its own CPU on request,
 * and exits when its parent goes away (IPC disconnect), so no child outlives the bench.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { S3Client } from "@aws-sdk/client-s3";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { RunningSimulator, RunningSimulatorConfig } from "#local/simulator/types.js";
import type { EmulatorOptions, Emulators } from "#local/stack/emulators.js";
import type { ItemChange } from "#local/stack/events/table-changes.js";

type Request =
  | { kind: "start-simulator"; stateDir: string; wechatLimits: boolean }
  | { kind: "start-emulators"; options: EmulatorOptions }
  | { kind: "cpu" }
  | { kind: "stop" };

/** What the stand-ins' child hands back: everything of `Emulators` that is data. */
type EmulatorsData = Pick<Emulators, "env" | "endpoints" | "queues" | "tableCreated" | "restoredMessages">;

type Reply =
  | { kind: "ready"; url?: string; port?: number; emulators?: EmulatorsData }
  | { kind: "cpu"; usage: NodeJS.CpuUsage }
  | { kind: "stopped" }
  | { kind: "error"; message: string };

/** Sent by the stand-ins' child without being asked, in commit order: one committed item change. */
type ChangeMessage = { kind: "change"; change: ItemChange };

/** A forked child: one request at a time, answered in order; change records beside the answers. */
export class BenchChild {
  private readonly pending: Array<(reply: Reply) => void> = [];
  private exited = false;
  /** Receives the stand-ins' change records. */
  onChange: ((change: ItemChange) => void) | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (message: Reply | ChangeMessage) => {
      if (message.kind === "change") this.onChange?.(message.change);
      else this.pending.shift()?.(message);
    });
    child.once("exit", (code) => {
      this.exited = true;
      for (const resolve of this.pending.splice(0)) resolve({ kind: "error", message: `child exited (${code})` });
    });
  }

  static start(): BenchChild {
    const child = fork(fileURLToPath(import.meta.url), ["--bench-child"], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR", NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    return new BenchChild(child);
  }

  async ask(request: Request, timeoutMs = 60_000): Promise<Reply> {
    if (this.exited) throw new Error("bench child has exited");
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench child: no answer to ${request.kind}`)), timeoutMs);
      this.pending.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.child.send(request);
    });
    if (reply.kind === "error") throw new Error(`bench child: ${reply.message}`);
    return reply;
  }

  /** CPU ms (user + system) this child has used since it started. */
  async cpuMs(): Promise<number> {
    const reply = await this.ask({ kind: "cpu" });
    if (reply.kind !== "cpu") throw new Error("bench child: unexpected reply");
    return (reply.usage.user + reply.usage.system) / 1000;
  }

  /** Stops gracefully, then kills if it has not exited within 5 s. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    await this.ask({ kind: "stop" }, 5_000).catch(() => {});
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface ChildSimulator {
  child: BenchChild;
  /** Shaped like `startSimulator`'s result for `startLocalStack({ externalSimulator })`; stats/ledger are not available. */
  simulator: RunningSimulator;
}

/**
 * A fresh simulator (public-key mode) in a child process, with WeChat's notification retries compressed. With
 * `wechatLimits` it enforces WeChat's rate limits (500 sends/s per merchant, the per-endpoint limits) as WeChat does;
 * without, they are off, to measure how fast a client can go when nothing throttles it. Keys are read back from
 * `stateDir`.
 */
export async function forkSimulator(stateDir: string, options: { wechatLimits: boolean }): Promise<ChildSimulator> {
  const child = BenchChild.start();
  try {
    const ready = await child.ask({ kind: "start-simulator", stateDir, wechatLimits: options.wechatLimits });
    if (ready.kind !== "ready" || !ready.url) throw new Error("simulator child did not start");
    const { prepareKeys } = await import("#local/simulator/keys.js");
    const prepared = await prepareKeys(stateDir, "public_key");
    const config: RunningSimulatorConfig = {
      ...prepared.file,
      base_url: ready.url,
      config_path: prepared.configPath,
      keys: prepared.keys,
    };
    const unavailable = () => {
      throw new Error("the bench simulator runs in a child process");
    };
    const simulator: RunningSimulator = {
      url: ready.url,
      port: ready.port ?? 0,
      config,
      stop: () => child.stop(),
      reset: async () => unavailable(),
      stats: unavailable,
      ledger: unavailable,
    };
    return { child, simulator };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export interface ChildEmulators {
  child: BenchChild;
  /** For `startLocalStack({ startEmulators })`: the stand-ins' endpoints and clients; their internals stay in the child. */
  emulators: Emulators;
}

/** `startEmulators(options)` in a child process: what `startLocalStack` calls through its `startEmulators` option. */
export async function forkEmulators(options: EmulatorOptions): Promise<ChildEmulators> {
  const child = BenchChild.start();
  try {
    const ready = await child.ask({ kind: "start-emulators", options });
    if (ready.kind !== "ready" || !ready.emulators) throw new Error("emulators child did not start");
    const data = ready.emulators;
    const { env } = data;
    const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    const { createSqsClient } = await import("#shared/adapters/sqs/sqs-client.js");
    const sqs: SQSClient = createSqsClient({ endpoint: data.endpoints.sqs, region: env.AWS_REGION, credentials });
    // As startEmulators builds its own: fauxqs's S3 answers path-style requests.
    const s3 = new S3Client({ endpoint: data.endpoints.s3, region: env.AWS_REGION, credentials, forcePathStyle: true });
    const listeners = new Set<(change: ItemChange) => void>();
    child.onChange = (change) => {
      for (const listener of listeners) listener(change);
    };
    const emulators: Emulators = {
      ...data,
      sqs,
      s3,
      onTableChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      async stop() {
        sqs.destroy();
        s3.destroy();
        await child.stop();
      },
    };
    return { child, emulators };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** Child side. */
async function serve(): Promise<void> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };
  const reply = (message: Reply) => process.send?.(message);
  process.on("disconnect", () => void stopAll().then(() => process.exit(0)));
  process.on("message", async (request: Request) => {
    try {
      switch (request.kind) {
        case "start-simulator": {
          const { startSimulator } = await import("#local/simulator/index.js");
          const sim = await startSimulator({
            port: 0,
            stateDir: request.stateDir,
            mode: "public_key",
            ...(request.wechatLimits ? {} : { sendRateLimitPerSecond: 1_000_000, endpointRateLimits: false }),
            notifyRetryIntervalMs: 400,
          });
          stops.push(() => sim.stop());
          reply({ kind: "ready", url: sim.url, port: sim.port });
          break;
        }
        case "start-emulators": {
          const { startEmulators } = await import("#local/stack/emulators.js");
          const emulators = await startEmulators(request.options);
          stops.push(() => emulators.stop());
          // Every committed change to the parent, in commit order (IPC keeps the order of sends).
          emulators.onTableChange?.((change) => process.send?.({ kind: "change", change } satisfies ChangeMessage));
          const { env, endpoints, queues, tableCreated, restoredMessages } = emulators;
          reply({ kind: "ready", emulators: { env, endpoints, queues, tableCreated, restoredMessages } });
          break;
        }
        case "cpu":
          reply({ kind: "cpu", usage: process.cpuUsage() });
          break;
        case "stop":
          await stopAll();
          // The parent disconnects on this answer, and "disconnect" ends the process.
          reply({ kind: "stopped" });
      }
    } catch (error) {
      reply({ kind: "error", message: error instanceof Error ? error.message : String(error) });
    }
  });
}

if (process.argv.includes("--bench-child")) await serve();
