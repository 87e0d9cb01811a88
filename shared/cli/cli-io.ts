import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** Where a command writes; injectable so commands can run in-process in tests. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Bad arguments: the command prints its usage and exits 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliUsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Strict `node:util` parseArgs: unknown options and stray positionals are usage errors, not stack traces. */
export function parseOptions<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
}

export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new CliUsageError(`--${name} is required`);
  return value;
}

/** Reads a file named by an option; a missing or unreadable file is a usage error. */
export function readOptionFile(name: string, path: string, encoding: "utf8"): string;
export function readOptionFile(name: string, path: string): Buffer;
export function readOptionFile(name: string, path: string, encoding?: "utf8"): string | Buffer {
  try {
    return encoding ? readFileSync(path, encoding) : readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new CliUsageError(`cannot read --${name} ${path} (${code})`);
  }
}

/** Unix seconds, as WeChat's Wechatpay-Timestamp and Authorization timestamp carry them. */
export function unixSeconds(name: string, text: string): number {
  if (!/^\d{1,12}$/.test(text)) throw new CliUsageError(`--${name} must be unix seconds, got ${text}`);
  return Number(text);
}
