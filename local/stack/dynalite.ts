import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { changeCapturingCreate, dynaliteDbModule, type ItemChange } from "./events/table-changes.js";

/** The subset of dynalite 4.0.0's options we use (it ships no types). */
interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
  /** LevelDB directory; in memory when absent. */
  path?: string;
}

export interface Dynalite {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * dynalite in-process on 127.0.0.1:0 (quick to start). Quirks (docs/local-stack.md#dynalite): no transactions, no
 * UpdateTimeToLive, `ReturnValuesOnConditionCheckFailure` ignored; the adapters avoid or work around all three.
 */
export async function startDynalite(
  options: {
    path?: string;
    /** Each committed item change, as the table's stream would carry it (local/stack/events/table-changes.ts). */
    onChange?: (change: ItemChange) => void;
  } = {},
): Promise<Dynalite> {
  const require = createRequire(import.meta.url);
  const dynalite = require("dynalite") as (options: DynaliteOptions) => Server;
  const start = () =>
    dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(options.path === undefined ? {} : { path: options.path }),
    });
  let server: Server;
  if (options.onChange === undefined) server = start();
  else {
    // dynalite calls db.create once, synchronously, inside dynalite(): swap it for that call only.
    const db = dynaliteDbModule();
    const create = db.create;
    db.create = changeCapturingCreate(options.onChange)(create);
    try {
      server = start();
    } finally {
      db.create = create;
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // dynalite's close() waits for the HTTP server to close (so keep-alive sockets are cut) and then closes LevelDB,
    // which must finish before another dynalite may open the same directory.
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
