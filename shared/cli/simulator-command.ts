import type { CliIo } from "./cli-io.js";

type SimulatorCli = { runSimulatorCommand(argv: string[]): Promise<number> };

// A variable specifier: the simulator is optional (and lives outside shared/), so the CLI must load without it.
const SIMULATOR_MODULE = "#local/simulator/cli.js";

/** `wxcoupon simulator …`: delegates to local/simulator when this checkout has it. */
export async function runSimulatorSubcommand(
  argv: string[],
  io: CliIo,
  specifier: string = SIMULATOR_MODULE,
): Promise<number> {
  let module: Partial<SimulatorCli>;
  try {
    module = (await import(specifier)) as Partial<SimulatorCli>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_IMPORT_NOT_DEFINED") throw error;
    io.err("error: the WeChat Pay simulator is not available in this checkout (local/simulator/cli.ts is missing)");
    return 1;
  }
  if (typeof module.runSimulatorCommand !== "function") {
    io.err("error: local/simulator/cli.ts does not export runSimulatorCommand(argv)");
    return 1;
  }
  return module.runSimulatorCommand(argv);
}
