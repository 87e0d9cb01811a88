import { randomUUID } from "node:crypto";
import type { FunctionHost, Invocation } from "./function-host/function-host.js";

export interface ScheduleRunnerOptions {
  /** The rule's or schedule's logical id (the scheduled event names it as its resource). */
  ruleName: string;
  /** `events`: a rule's "Scheduled Event"; `scheduler`: EventBridge Scheduler's input (the template sets none: `{}`). */
  source?: "events" | "scheduler";
  host: FunctionHost;
  intervalMs: number;
  region: string;
  account: string;
  log?: (line: string) => void;
}

export interface ScheduleRunner {
  readonly ruleName: string;
  /** Every invocation's result so far, oldest first (kept for tests and benchmarks). */
  readonly invocations: readonly Invocation[];
  /** Invokes once now, outside the timer (tests), and answers with its result. */
  runOnce(): Promise<Invocation>;
  stop(): Promise<void>;
}

/**
 * EventBridge's scheduled rule (or EventBridge Scheduler's schedule), locally: every `intervalMs` the target function
 * is invoked asynchronously with a "Scheduled Event"
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-events.html#events-ref-scheduled), or with the
 * schedule's input, `{}` when it sets none
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html), whether or not the previous
 * invocation has ended, as both do. A failed invocation is not retried (the reconcile schedule sets no retries: the
 * next tick goes on; cert-refresh's retries are not reproduced, README).
 */
export function startScheduleRunner(options: ScheduleRunnerOptions): ScheduleRunner {
  const invocations: Invocation[] = [];
  const inFlight = new Set<Promise<Invocation>>();
  const invoke = (): Promise<Invocation> => {
    const event =
      options.source === "scheduler"
        ? {}
        : {
            version: "0",
            id: randomUUID(),
            "detail-type": "Scheduled Event",
            source: "aws.events",
            account: options.account,
            time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
            region: options.region,
            resources: [`arn:aws:events:${options.region}:${options.account}:rule/${options.ruleName}`],
            detail: {},
          };
    const running = options.host.invoke(event).then((result) => {
      invocations.push(result);
      if (!result.ok) options.log?.(`schedule ${options.ruleName}: ${result.errorType}: ${result.errorMessage}`);
      return result;
    });
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
    return running;
  };
  const timer = setInterval(() => void invoke(), options.intervalMs);
  return {
    ruleName: options.ruleName,
    invocations,
    runOnce: invoke,
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
      await options.host.stop();
    },
  };
}
