import { defineConfig } from "vitest/config";
import { NodeVersionReporter } from "./test/helpers/node-version-reporter.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "test/reliability/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The files' processes share each synthesized app (local/stack/template/run-cache.ts).
    globalSetup: ["test/helpers/synth-cache-setup.ts"],
    // Two files at a time. vitest's default is one fewer than the cores (one on a 2-core machine), but most files here
    // spend their time waiting: on a local stack's queues and schedules, on the simulator's notification retries, on
    // child processes. Two at a time overlaps that waiting; the files stay isolated (each its own process, its own stack
    // on free ports, its own temp folders).
    maxWorkers: 2,
    // Quiet handlers in tests; assertions read state, not logs. (Reliability tests capture logs themselves.)
    env: { POWERTOOLS_LOG_LEVEL: "WARN", POWERTOOLS_METRICS_DISABLED: "true" },
    reporters: [new NodeVersionReporter(), "default"],
  },
});
