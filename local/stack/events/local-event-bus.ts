import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { checkPattern, type EventPattern, matchesPattern } from "./event-pattern.js";

/** A rule's target, resolved to a local queue (the only target kind the service's template uses). */
export interface LocalRuleTarget {
  id: string;
  arn: string;
  queueUrl: string;
  deadLetterQueueUrl?: string;
  /** The target's RetryPolicy.MaximumRetryAttempts (EventBridge's default 185). */
  maximumRetryAttempts: number;
}

export interface LocalRule {
  name: string;
  arn: string;
  pattern: EventPattern;
  targets: LocalRuleTarget[];
}

/** The event as EventBridge delivers it to targets (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html). */
export interface BusEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface LocalEventBusOptions {
  name: string;
  arn: string;
  account: string;
  region: string;
  rules: LocalRule[];
  /** Delivers to the queues as EventBridge does (with its service principal: queue policies are not evaluated). */
  sqs: SQSClient;
  /** Back-off between delivery attempts to a target, doubling; default 200 ms. */
  retryBaseMs?: number;
  log?: (line: string) => void;
}

export interface LocalEventBus {
  /** The EventBridge endpoint (JSON 1.1 `AWSEvents.PutEvents`), for `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  endpoint: string;
  /** Every event accepted so far, in order (tests, `wxcoupon events tail` locally). */
  readonly accepted: readonly BusEvent[];
  /** The rules on the bus now: the template's and any added at run time. */
  readonly rules: readonly LocalRule[];
  /** Calls `listener` with each event accepted from now on; returns the unsubscribe. */
  subscribe(listener: (event: BusEvent) => void): () => void;
  /** Resolves once every accepted event has been delivered to its targets (or dead-lettered). */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The service's EventBridge bus, locally: PutEvents over the wire (the publisher's SDK client talks to it through the
 * IAM proxy, as to AWS), the rules and targets the template declares, the documented event-pattern matching
 * (event-pattern.ts), and asynchronous delivery after PutEvents answered, each target with retries and then its
 * dead-letter queue (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). Besides PutEvents,
 * rules with SQS targets can be added and removed at run time (PutRule, PutTargets, RemoveTargets, DeleteRule: what
 * `wxcoupon events tail` does for its temporary queue); other operations answer UnknownOperationException.
 */
export async function startLocalEventBus(options: LocalEventBusOptions): Promise<LocalEventBus> {
  for (const rule of options.rules) checkPattern(rule.pattern);
  const log = options.log ?? (() => {});
  const accepted: BusEvent[] = [];
  const listeners = new Set<(event: BusEvent) => void>();
  const deliveries = new Set<Promise<void>>();

  const deliver = async (rule: LocalRule, target: LocalRuleTarget, event: BusEvent) => {
    const body = JSON.stringify(event);
    let lastError: unknown;
    for (let attempt = 0; attempt <= Math.min(target.maximumRetryAttempts, 5); attempt++) {
      if (attempt > 0) await sleep((options.retryBaseMs ?? 200) * 2 ** (attempt - 1));
      try {
        await options.sqs.send(new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: body }));
        return;
      } catch (error) {
        lastError = error;
      }
    }
    log(`bus: ${rule.name} → ${target.id} failed: ${(lastError as Error).message}`);
    if (target.deadLetterQueueUrl === undefined) return;
    // EventBridge's dead-letter message: the event, and why, as message attributes (eb-rule-dlq.html).
    await options.sqs.send(
      new SendMessageCommand({
        QueueUrl: target.deadLetterQueueUrl,
        MessageBody: body,
        MessageAttributes: {
          RULE_ARN: { DataType: "String", StringValue: rule.arn },
          TARGET_ARN: { DataType: "String", StringValue: target.arn },
          ERROR_CODE: { DataType: "String", StringValue: "SDK_CLIENT_ERROR" },
          ERROR_MESSAGE: { DataType: "String", StringValue: String((lastError as Error).message).slice(0, 256) },
        },
      }),
    );
  };

  const rules = [...options.rules];
  const route = (event: BusEvent) => {
    accepted.push(event);
    for (const listener of listeners) listener(event);
    for (const rule of rules) {
      if (!matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) {
        const delivery = deliver(rule, target, event).catch((error) =>
          log(`bus: dead-letter of ${rule.name} → ${target.id} failed: ${(error as Error).message}`),
        );
        deliveries.add(delivery);
        void delivery.finally(() => deliveries.delete(delivery));
      }
    }
  };

  const putEvents = (body: Record<string, unknown>) => {
    const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
    if (entries.length === 0 || entries.length > 10) {
      return { status: 400, body: { __type: "ValidationException", message: "Entries: 1 to 10 entries" } };
    }
    let failed = 0;
    const results = entries.map((entry) => {
      const bus = entry.EventBusName ?? "default";
      if (bus !== options.name && bus !== options.arn) {
        failed += 1;
        return { ErrorCode: "NotAuthorizedForSourceException", ErrorMessage: `no event bus ${String(bus)} here` };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(String(entry.Detail ?? ""));
      } catch {
        detail = undefined;
      }
      if (typeof entry.Source !== "string" || typeof entry.DetailType !== "string" || !isObject(detail)) {
        failed += 1;
        return {
          ErrorCode: "MalformedDetail",
          ErrorMessage: "Source, DetailType and a JSON object Detail are required",
        };
      }
      const id = randomUUID();
      const time = entry.Time === undefined ? new Date() : new Date(Number(entry.Time) * 1000);
      route({
        version: "0",
        id,
        "detail-type": entry.DetailType,
        source: entry.Source,
        account: options.account,
        // EventBridge's `time` has whole seconds.
        time: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
        region: options.region,
        resources: Array.isArray(entry.Resources) ? (entry.Resources as string[]) : [],
        detail,
      });
      return { EventId: id };
    });
    return { status: 200, body: { FailedEntryCount: failed, Entries: results } };
  };

  type Answer = { status: number; body: Record<string, unknown> };
  const notFound = (name: unknown): Answer => ({
    status: 400,
    body: {
      __type: "ResourceNotFoundException",
      message: `Rule ${String(name)} does not exist on EventBus ${options.name}.`,
    },
  });
  const ruleNamed = (name: unknown) => rules.find((r) => r.name === name);
  const ruleArn = (name: string) => `arn:aws:events:${options.region}:${options.account}:rule/${options.name}/${name}`;
  const ruleOperations: Record<string, (body: Record<string, unknown>) => Promise<Answer>> = {
    async PutRule(body) {
      const name = String(body.Name ?? "");
      const pattern = JSON.parse(String(body.EventPattern ?? "{}")) as EventPattern;
      checkPattern(pattern);
      const existing = ruleNamed(name);
      if (existing) existing.pattern = pattern;
      else rules.push({ name, arn: ruleArn(name), pattern, targets: [] });
      return { status: 200, body: { RuleArn: ruleArn(name) } };
    },
    async PutTargets(body) {
      const rule = ruleNamed(body.Rule);
      if (!rule) return notFound(body.Rule);
      for (const target of (body.Targets as { Id: string; Arn: string }[] | undefined) ?? []) {
        const queueName = target.Arn.split(":").pop()!;
        const { QueueUrl } = await options.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
        rule.targets = rule.targets.filter((t) => t.id !== target.Id);
        rule.targets.push({ id: target.Id, arn: target.Arn, queueUrl: QueueUrl!, maximumRetryAttempts: 185 });
      }
      return { status: 200, body: { FailedEntryCount: 0, FailedEntries: [] } };
    },
    async RemoveTargets(body) {
      const rule = ruleNamed(body.Rule);
      if (!rule) return notFound(body.Rule);
      const ids = new Set((body.Ids as string[] | undefined) ?? []);
      rule.targets = rule.targets.filter((t) => !ids.has(t.id));
      return { status: 200, body: { FailedEntryCount: 0, FailedEntries: [] } };
    },
    async DeleteRule(body) {
      const rule = ruleNamed(body.Name);
      if (rule && rule.targets.length > 0) {
        return {
          status: 400,
          body: { __type: "ValidationException", message: "Rule can't be deleted since it has targets." },
        };
      }
      if (rule) rules.splice(rules.indexOf(rule), 1);
      return { status: 200, body: {} };
    },
  };

  const server = createServer((req, res) => {
    readJson(req)
      .then(async (body) => {
        const operation =
          String(req.headers["x-amz-target"] ?? "")
            .split(".")
            .pop() ?? "";
        const run = ruleOperations[operation];
        const answer: Answer =
          operation === "PutEvents"
            ? putEvents(body)
            : run
              ? await run(body).catch((error: Error) => ({
                  status: 400,
                  body: { __type: "ValidationException", message: error.message },
                }))
              : { status: 400, body: { __type: "UnknownOperationException", message: `${operation} is not served` } };
        const text = JSON.stringify(answer.body);
        res.writeHead(answer.status, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-requestid": randomUUID(),
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      })
      .catch(() => {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ __type: "SerializationException", message: "body is not JSON" }));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    accepted,
    rules,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async drained() {
      while (deliveries.size > 0) await Promise.allSettled([...deliveries]);
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled([...deliveries]);
    },
  };
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
        resolve(isObject(value) ? value : {});
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
