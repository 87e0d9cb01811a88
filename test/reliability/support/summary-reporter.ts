import type { Reporter, TestModule } from "vitest/node";
import "./tally.js";
import { SCALE } from "./scale.js";
import type { Tally } from "./tally.js";

/**
 * Prints the reliability table (one row per group, then a total) once every file has run. Listed BEFORE vitest's
 * default reporter, so vitest's own summary stays the closing lines of the run. Uses the reported-task API
 * (`onTestRunEnd` with `TestModule`s, https://vitest.dev/api/advanced/reporters), which replaced `onFinished(files)`
 * in vitest 4.
 */
export class ReliabilitySummaryReporter implements Reporter {
  private readonly started = Date.now();

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows = new Map<string, Tally & { tests: number; failedTests: number }>();
    const notes: string[] = [];
    for (const testCase of testModules.flatMap((testModule) => [...testModule.children.allTests()])) {
      const tally = testCase.meta().reliability;
      if (!tally) continue;
      const row = rows.get(tally.group) ?? {
        group: tally.group,
        cases: 0,
        faults: 0,
        duplicates: 0,
        lost: 0,
        fiveXx: 0,
        tests: 0,
        failedTests: 0,
      };
      row.cases += tally.cases;
      row.faults += tally.faults;
      row.duplicates += tally.duplicates;
      row.lost += tally.lost;
      row.fiveXx += tally.fiveXx;
      row.tests += 1;
      if (testCase.result().state === "failed") row.failedTests += 1;
      rows.set(tally.group, row);
      for (const note of tally.notes ?? []) notes.push(`${tally.group} · ${testCase.name}: ${note}`);
    }
    if (rows.size === 0) return;

    const header = ["group", "tests", "failed", "cases tried", "faults injected", "duplicates", "records lost", "5xx"];
    const body = [...rows.values()].map((r) => [
      r.group,
      String(r.tests),
      String(r.failedTests),
      String(r.cases),
      String(r.faults),
      String(r.duplicates),
      String(r.lost),
      String(r.fiveXx),
    ]);
    const total = [...rows.values()].reduce(
      (t, r) => ({
        tests: t.tests + r.tests,
        failed: t.failed + r.failedTests,
        cases: t.cases + r.cases,
        faults: t.faults + r.faults,
        duplicates: t.duplicates + r.duplicates,
        lost: t.lost + r.lost,
        fiveXx: t.fiveXx + r.fiveXx,
      }),
      { tests: 0, failed: 0, cases: 0, faults: 0, duplicates: 0, lost: 0, fiveXx: 0 },
    );
    body.push(
      ["total", total.tests, total.failed, total.cases, total.faults, total.duplicates, total.lost, total.fiveXx].map(
        String,
      ),
    );
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
    const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
    const out = [
      "",
      `Reliability summary (RELIABILITY_SCALE=${SCALE}, ${((Date.now() - this.started) / 1000).toFixed(0)} s)`,
      line(header),
      rule,
      ...body.slice(0, -1).map(line),
      rule,
      line(body.at(-1)!),
      ...notes.map((n) => `  ${n}`),
      "",
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  }
}
