import { runSimulatorCommand } from "./cli.js";

// `npx tsx local/simulator/main.ts --port 0 --state-dir /tmp/x`
process.exitCode = await runSimulatorCommand(process.argv.slice(2));
