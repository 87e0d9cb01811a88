import { startSimulator } from "./index.js";
import type { SimulatorMode } from "./types.js";

export const USAGE = `usage: wxcoupon simulator --port P --state-dir DIR [--mode public_key|platform_certificate] [--host H]

Starts the local WeChat Pay cash-coupon simulator. Keys and simulator.json are created in DIR on first start
and reused afterwards; state survives restarts. --port 0 picks a free port.`;

interface CliArgs {
  port: number;
  stateDir: string;
  host: string | undefined;
  mode: SimulatorMode | undefined;
}

function parseArgs(argv: string[]): CliArgs | string {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "";
    const eq = arg.indexOf("=");
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!["--port", "--state-dir", "--mode", "--host"].includes(name)) return `unknown argument: ${arg}`;
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") return `${name} needs a value`;
    values.set(name, value);
  }
  const portText = values.get("--port");
  if (portText === undefined) return "--port is required";
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port > 65_535) return `--port must be 0..65535, got ${portText}`;
  const stateDir = values.get("--state-dir");
  if (!stateDir) return "--state-dir is required";
  const mode = values.get("--mode");
  if (mode !== undefined && mode !== "public_key" && mode !== "platform_certificate")
    return `--mode must be public_key or platform_certificate, got ${mode}`;
  return { port, stateDir, host: values.get("--host"), mode };
}

/**
 * `wxcoupon simulator …`: runs until SIGINT/SIGTERM; returns the exit code.
 * Bad arguments print the usage and return 2 (no stack trace).
 */
export async function runSimulatorCommand(
  argv: string[],
  io: { out: (line: string) => void; err: (line: string) => void } = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === "string") {
    if (args === "") {
      io.out(USAGE);
      return 0;
    }
    io.err(`error: ${args}\n\n${USAGE}`);
    return 2;
  }
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator({
      port: args.port,
      stateDir: args.stateDir,
      ...(args.host ? { host: args.host } : {}),
      ...(args.mode ? { mode: args.mode } : {}),
      log: (line) => io.err(line),
    });
  } catch (error) {
    io.err(`error: cannot start the simulator: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  io.out(`WeChat Pay simulator: ${simulator.url}`);
  io.out(`config: ${simulator.config.config_path}`);
  io.out(`mode: ${simulator.config.mode}  mchid: ${simulator.config.mchid}  appid: ${simulator.config.appid}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await simulator.stop();
  return 0;
}
