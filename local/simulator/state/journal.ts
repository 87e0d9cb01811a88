import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import type { JournalEntry } from "./records.js";

/**
 * Append-only JSONL journal. Every state change appends one line (a small synchronous write: no whole-file
 * rewrite per request); on start the file is replayed and then compacted to one line per live record.
 */
export class Journal {
  private fd: number | undefined;
  private readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** Entries currently in the file; a torn last line (crash mid-write) is ignored. */
  read(): JournalEntry[] {
    if (!existsSync(this.path)) return [];
    const entries: JournalEntry[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as JournalEntry);
      } catch {
        // only the last line can be torn; skip it
      }
    }
    return entries;
  }

  /** Replaces the file with `entries` (atomic rename) and reopens it for appends. */
  compact(entries: JournalEntry[]): void {
    this.close();
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, entries.map((e) => `${JSON.stringify(e)}\n`).join(""), { mode: 0o600 });
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, "a", 0o600);
  }

  append(entry: JournalEntry): void {
    if (this.fd === undefined) this.fd = openSync(this.path, "a", 0o600);
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
