import type { TestContext } from "vitest";

/** What one reliability case contributes to the summary table printed at the end of the run. */
export interface Tally {
  /** Table row: the group of cases (Duplicates, Faults, Rate, Hostile input). */
  group: string;
  /** Requests, messages or inputs tried. */
  cases: number;
  /** Faults injected (simulator `faults_injected`, DynamoDB proxy, worker kills). */
  faults: number;
  /** Keys with more than one coupon, notifications stored twice, … */
  duplicates: number;
  /** Recipients or sends that never reached a final state, or whose final state disagrees with WeChat. */
  lost: number;
  /** 5xx answers to bad input (under injected store faults 5xx answers are expected and counted separately). */
  fiveXx: number;
  /** Free-form lines for the summary (e.g. 429s per second). */
  notes?: string[];
}

declare module "vitest" {
  interface TaskMeta {
    reliability?: Tally;
  }
}

/** Attaches a case's numbers to its test, where the summary reporter finds them (also when the test fails). */
export function record(context: Pick<TestContext, "task">, tally: Partial<Tally> & { group: string }): Tally {
  const previous = context.task.meta.reliability;
  const merged: Tally = {
    group: tally.group,
    cases: (previous?.cases ?? 0) + (tally.cases ?? 0),
    faults: (previous?.faults ?? 0) + (tally.faults ?? 0),
    duplicates: (previous?.duplicates ?? 0) + (tally.duplicates ?? 0),
    lost: (previous?.lost ?? 0) + (tally.lost ?? 0),
    fiveXx: (previous?.fiveXx ?? 0) + (tally.fiveXx ?? 0),
    notes: [...(previous?.notes ?? []), ...(tally.notes ?? [])],
  };
  context.task.meta.reliability = merged;
  return merged;
}
