import { readFileSync } from "node:fs";
import type { CampaignCommandDeps } from "./api-access.js";
import { CAMPAIGN_USAGE, runCampaignCommand } from "./campaign-command.js";
import { type CliIo, CliUsageError, processIo } from "./cli-io.js";
import { DECRYPT_USAGE, runDecryptCommand } from "./decrypt-command.js";
import { EVENTS_USAGE, runEventsCommand } from "./events-command.js";
import { KEYS_USAGE, runKeysCommand } from "./keys-command.js";
import { runSignCommand, SIGN_USAGE } from "./sign-command.js";
import { runSimulatorSubcommand } from "./simulator-command.js";
import { runVerifyCommand, VERIFY_USAGE } from "./verify-command.js";

export const USAGE = `usage: wxcoupon <command> [options]

Commands:
  sign       print the Authorization header of a WeChat Pay APIv3 request
  verify     check a Wechatpay-Signature over a response or notification body (exit 0 valid, 1 invalid)
  decrypt    open an AEAD_AES_256_GCM resource with the APIv3 key
  keys       generate a merchant key pair and self-signed certificate for local use
  simulator  run the local WeChat Pay simulator
  campaign   send a campaign from a file of openids or a CSV column (resumable, with progress; its own
             failures file is a valid input); status, list, pause, resume, cancel; retry a campaign's failures
             of chosen codes (retry --wait follows it); failures; report (table and uses-by-day chart); export
             (coupons or failures as a CSV file)
  events     tail: stream the service's events (local stack or deployed bus) to the terminal
  version    print wxcoupon's version and the Node.js it runs on (also --version)
  help       show this text, or "wxcoupon help <command>"

Every command that prints data takes --json (one JSON object on stdout; messages stay on stderr).
Exit codes: 0 done; 1 error; 2 bad arguments; verify: 1 invalid signature; campaign send and retry --wait: 3 some
recipients failed, 4 no progress for --stall-timeout; campaign send: 5 the service lost the campaign being resumed,
130 interrupted.

Run "wxcoupon <command> --help" for the options of a command.`;

/** Test seams of commands that talk to the network (production passes none). */
export interface MainOptions {
  campaign?: CampaignCommandDeps;
  /** Stops a long-running command (events tail) as Ctrl-C does. */
  signal?: AbortSignal;
}

interface Command {
  usage: string;
  run(argv: string[], io: CliIo, options: MainOptions): number | Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  sign: { usage: SIGN_USAGE, run: runSignCommand },
  verify: { usage: VERIFY_USAGE, run: runVerifyCommand },
  decrypt: { usage: DECRYPT_USAGE, run: runDecryptCommand },
  keys: { usage: KEYS_USAGE, run: runKeysCommand },
  campaign: { usage: CAMPAIGN_USAGE, run: (argv, io, options) => runCampaignCommand(argv, io, options.campaign) },
  events: { usage: EVENTS_USAGE, run: (argv, io, options) => runEventsCommand(argv, io, options.signal) },
};

const wantsHelp = (argv: string[]): boolean => argv.includes("--help") || argv.includes("-h");

/** The package version, and the Node.js that npm scripts and npx put first. */
export function versionInfo(): { wxcoupon: string; node: string } {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return { wxcoupon: version, node: process.version };
}

/** "wxcoupon 0.1.0 (Node.js v24.21.0)". */
export function versionLine(): string {
  const { wxcoupon, node } = versionInfo();
  return `wxcoupon ${wxcoupon} (Node.js ${node})`;
}

/**
 * The `wxcoupon` command line; returns the exit code. Bad arguments print usage and return 2; no stack traces.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: string[], io: CliIo = processIo, options: MainOptions = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (name === "help" || name === "--help" || name === "-h") {
    const topic = rest[0] ? COMMANDS[rest[0]] : undefined;
    io.out(topic ? topic.usage : USAGE);
    return 0;
  }
  if (name === "version" || name === "--version" || name === "-v") {
    io.out(rest.includes("--json") ? JSON.stringify(versionInfo()) : versionLine());
    return 0;
  }
  // The simulator parses its own arguments (and its own --help).
  if (name === "simulator") return runSimulatorSubcommand(rest, io);
  const command = COMMANDS[name];
  if (!command) {
    io.err(`error: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    io.out(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io, options);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.err(`error: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
