import { createRequire } from "node:module";

/** One committed item change, both images in DynamoDB JSON (AttributeValue maps), in commit order. */
export interface ItemChange {
  tableName: string;
  eventName: "INSERT" | "MODIFY" | "REMOVE";
  oldImage?: Record<string, unknown>;
  newImage?: Record<string, unknown>;
  /** Epoch ms of the commit. */
  at: number;
}

type Callback = (error?: Error | null, value?: unknown) => void;
interface ItemDb {
  get(key: string, cb: Callback): void;
  put(key: string, value: unknown, cb: Callback): void;
  del(key: string, cb: Callback): void;
}
interface DynaliteStore {
  getItemDb(name: string): ItemDb;
}
interface DynaliteDb {
  create(options: unknown): DynaliteStore;
}

/** The dynalite release whose internals `captureChanges` relies on (package.json pins it). */
const DYNALITE_VERSION = "4.0.0";

/**
 * dynalite has no DynamoDB Streams (docs/local-stack.md#table-stream), so the local stack records each item change
 * where dynalite commits it: every write action (PutItem, UpdateItem, DeleteItem, and BatchWriteItem through them)
 * ends in the item store's `put` or `del`, called while the action holds dynalite's per-item lock (its
 * `actions/putItem.js`, `updateItem.js`, `deleteItem.js`). Reading the old image there, under the same lock, gives
 * what a stream record holds: the item before and after that one write, in commit order per item. The change is
 * reported after the store's write succeeded and before dynalite answers the caller, so an acknowledged write always
 * has its change record.
 *
 * Returns `create`, to run dynalite's `db.create` through: dynalite's entry calls `db.create(options)` once per
 * server, so the stack swaps it in around that one call (`local/stack/dynalite.ts`).
 */
export function changeCapturingCreate(
  onChange: (change: ItemChange) => void,
): (create: DynaliteDb["create"]) => DynaliteDb["create"] {
  return (create) => (options) => {
    const store = create(options);
    const getItemDb = store.getItemDb.bind(store);
    const wrapped = new Map<string, ItemDb>();
    store.getItemDb = (name: string) => {
      const inner = getItemDb(name);
      let itemDb = wrapped.get(name);
      if (itemDb === undefined || (itemDb as unknown as { inner: ItemDb }).inner !== inner) {
        itemDb = capturing(inner, name, onChange);
        wrapped.set(name, itemDb);
      }
      return itemDb;
    };
    return store;
  };
}

function capturing(inner: ItemDb, tableName: string, onChange: (change: ItemChange) => void): ItemDb {
  const readOld = (key: string, then: (old: Record<string, unknown> | undefined) => void, cb: Callback) =>
    inner.get(key, (error, value) => {
      if (error && error.name !== "NotFoundError") return cb(error);
      then(error ? undefined : (value as Record<string, unknown>));
    });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "inner") return inner;
      if (prop === "put") {
        return (key: string, value: Record<string, unknown>, cb: Callback) =>
          readOld(
            key,
            (old) =>
              target.put(key, value, (error) => {
                if (!error) {
                  onChange({
                    tableName,
                    eventName: old === undefined ? "INSERT" : "MODIFY",
                    ...(old === undefined ? {} : { oldImage: old }),
                    newImage: structuredClone(value),
                    at: Date.now(),
                  });
                }
                cb(error);
              }),
            cb,
          );
      }
      if (prop === "del") {
        return (key: string, cb: Callback) =>
          readOld(
            key,
            (old) =>
              target.del(key, (error) => {
                if (!error && old !== undefined)
                  onChange({ tableName, eventName: "REMOVE", oldImage: old, at: Date.now() });
                cb(error);
              }),
            cb,
          );
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** dynalite's `db` module, refusing another dynalite release than the one this was written against. */
export function dynaliteDbModule(): DynaliteDb {
  const require = createRequire(import.meta.url);
  const version = (require("dynalite/package.json") as { version: string }).version;
  if (version !== DYNALITE_VERSION) {
    throw new Error(`local table stream: written for dynalite ${DYNALITE_VERSION}, found ${version}`);
  }
  return require("dynalite/db") as DynaliteDb;
}
