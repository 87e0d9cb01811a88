// Entry of one local execution environment (a worker thread): TypeScript through tsx's loader, registered in this
// thread because the worker may be started from a process that has none (e.g. vitest). Then the runtime proper.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.runtime);
