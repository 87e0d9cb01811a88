import { defineConfig } from "vitest/config";
import { NodeVersionReporter } from "./test/helpers/node-version-reporter.js";
import { ReliabilitySummaryReporter } from "./test/reliability/support/summary-reporter.js";

/**
 * `npm run test:reliability`: issue 6's proof under fire (duplicates, faults, rate, hostile input) against the local
 * stack. Size: env RELIABILITY_SCALE=ci (default, bounded) or full. Files run one at a time: each starts its own
 * stack and several measure throughput or count 429s per second, which a neighbour on the same cores would skew.
 */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    exclude: ["node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The files' processes share each synthesized app (local/stack/template/run-cache.ts).
    globalSetup: ["test/helpers/synth-cache-setup.ts"],
    fileParallelism: false,
    // Same settings as vitest.config.ts; the reliability files capture the logs themselves.
    env: { POWERTOOLS_LOG_LEVEL: "WARN", POWERTOOLS_METRICS_DISABLED: "true" },
    // The table first, so vitest's own summary stays the closing lines.
    reporters: [new NodeVersionReporter(), new ReliabilitySummaryReporter(), "default"],
  },
});
