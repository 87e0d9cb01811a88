import { defineConfig } from "vitest/config";
import { NodeVersionReporter } from "./test/helpers/node-version-reporter.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "test/reliability/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Quiet handlers in tests; assertions read state, not logs. (Reliability tests capture logs themselves.)
    env: { POWERTOOLS_LOG_LEVEL: "WARN", POWERTOOLS_METRICS_DISABLED: "true" },
    reporters: [new NodeVersionReporter(), "default"],
  },
});
