import { getHeapStatistics } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import { makeLambdaContext } from "../lambda-context.js";
import type { EnvironmentData, FromEnvironment, ToEnvironment } from "./protocol.js";

/**
 * The runtime inside one local execution environment: INIT imports the function's entry module (its module scope
 * builds clients and reads env, as at a Lambda cold start), then each invocation calls `handler(event, context)`. One
 * invocation at a time, as in Lambda; the host ends this thread on a timeout or when it runs out of memory.
 */
const data = workerData as EnvironmentData;
const port = parentPort!;
const post = (message: FromEnvironment) => port.postMessage(message);

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
let handler: Handler;
try {
  const module = (await import(data.entry)) as { handler?: Handler };
  if (typeof module.handler !== "function") throw new Error(`${data.entry} exports no handler`);
  handler = module.handler;
  post({ type: "ready" });
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ type: "init-error", name: e.name, message: e.message });
}

/** How often the heap is sampled during an invocation (its peak is reported with the result, for benchmarks). */
const HEAP_SAMPLE_MS = 20;

port.on("message", (message: ToEnvironment) => {
  let maxHeapUsedBytes = getHeapStatistics().used_heap_size;
  const sample = setInterval(() => {
    maxHeapUsedBytes = Math.max(maxHeapUsedBytes, getHeapStatistics().used_heap_size);
  }, HEAP_SAMPLE_MS);
  const context = makeLambdaContext({
    functionName: data.functionName,
    timeoutMs: message.timeoutMs,
    memoryLimitInMB: data.memorySize,
    requestId: message.requestId,
  });
  handler(message.event, context).then(
    (value) => {
      clearInterval(sample);
      maxHeapUsedBytes = Math.max(maxHeapUsedBytes, getHeapStatistics().used_heap_size);
      post({ type: "result", id: message.id, value, maxHeapUsedBytes });
    },
    (error: unknown) => {
      clearInterval(sample);
      const e = error instanceof Error ? error : new Error(String(error));
      post({ type: "error", id: message.id, name: e.name, message: e.message });
    },
  );
});
