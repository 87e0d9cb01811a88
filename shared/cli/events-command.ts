import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type CliIo, CliUsageError, parseOptions } from "./cli-io.js";

export const EVENTS_USAGE = `usage: wxcoupon events tail [options]

Streams the service's events to the terminal as they are published, until Ctrl-C (or --count). It subscribes a
temporary SQS queue to the event bus with a temporary rule, and removes both when it stops; other subscribers are
not affected. Local stack: the endpoints come from .local/stack.json. Deployed: --bus and --region, with your AWS
credentials (events:PutRule/PutTargets/RemoveTargets/DeleteRule on the bus, sqs:CreateQueue and the queue calls on
wxcoupon-tail-*).

Options:
  --bus NAME            the event bus (deployed: the stack output EventBusName); default: the local stack's
  --region R            its region (deployed)
  --detail-type T       only this detail-type (repeatable), e.g. coupon.used
  --count N             stop after N events
  --json                one event per line, as delivered (JSON)
  --stack-json PATH     the local stack's stack.json (default .local/stack.json)`;

interface Target {
  bus: string;
  region: string;
  eventbridge?: string;
  sqs?: string;
  local: boolean;
}

/** `wxcoupon events tail` (docs/events.md#tailing-events). */
export async function runEventsCommand(argv: string[], io: CliIo, given?: AbortSignal): Promise<number> {
  // Ctrl-C stops the tail and cleans up (the rule and queue must not outlive it).
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  if (given === undefined) process.once("SIGINT", onSigint);
  const signal = given ?? interrupt.signal;
  try {
    return await tail(argv, io, signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

async function tail(argv: string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "tail")
    throw new CliUsageError(sub === undefined ? "a subcommand is required" : `unknown subcommand ${sub}`);
  const values = parseOptions(rest, {
    bus: { type: "string" },
    region: { type: "string" },
    "detail-type": { type: "string", multiple: true },
    count: { type: "string" },
    json: { type: "boolean" },
    "stack-json": { type: "string" },
  });
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new CliUsageError("--count must be ≥ 1");
  const target = resolveTarget(values);
  const credentials = target.local ? { accessKeyId: "local", secretAccessKey: "local" } : undefined;
  const eb = new EventBridgeClient({
    region: target.region,
    ...(target.eventbridge ? { endpoint: target.eventbridge } : {}),
    ...(credentials ? { credentials } : {}),
  });
  const sqs = new SQSClient({
    region: target.region,
    ...(target.sqs ? { endpoint: target.sqs, useQueueUrlAsEndpoint: false } : {}),
    ...(credentials ? { credentials } : {}),
  });
  const name = `wxcoupon-tail-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const pattern: Record<string, unknown> = { source: ["wxcoupon"] };
  if (values["detail-type"]?.length) pattern["detail-type"] = values["detail-type"];
  let queueUrl: string | undefined;
  let ruleCreated = false;
  let targetAdded = false;
  try {
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    const queueArn = attributes.Attributes!.QueueArn!;
    const { RuleArn } = await eb.send(
      new PutRuleCommand({ Name: name, EventBusName: target.bus, EventPattern: JSON.stringify(pattern) }),
    );
    ruleCreated = true;
    // EventBridge may send to the queue only for this rule (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
    const policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: queueArn,
          Condition: { ArnEquals: { "aws:SourceArn": RuleArn } },
        },
      ],
    };
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify(policy) } }),
    );
    await eb.send(
      new PutTargetsCommand({ Rule: name, EventBusName: target.bus, Targets: [{ Id: "tail", Arn: queueArn }] }),
    );
    targetAdded = true;
    io.err(`tailing ${target.bus} (${target.local ? "local stack" : target.region}); Ctrl-C stops`);
    let seen = 0;
    while (!signal.aborted && (count === undefined || seen < count)) {
      const page = await sqs
        .send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
          ...(signal ? [{ abortSignal: signal }] : []),
        )
        .catch((error: Error) => {
          if (signal?.aborted) return { Messages: [] };
          throw error;
        });
      const messages = page.Messages ?? [];
      for (const message of messages) {
        if (count !== undefined && seen >= count) break;
        seen += 1;
        io.out(values.json ? message.Body! : describe(JSON.parse(message.Body!)));
      }
      if (messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }
    return 0;
  } finally {
    // Leave nothing behind: the target, the rule, the queue.
    if (targetAdded) await eb.send(new RemoveTargetsCommand({ Rule: name, EventBusName: target.bus, Ids: ["tail"] }));
    if (ruleCreated) await eb.send(new DeleteRuleCommand({ Name: name, EventBusName: target.bus }));
    if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    eb.destroy();
    sqs.destroy();
  }
}

function resolveTarget(values: { bus?: string; region?: string; "stack-json"?: string }): Target {
  if (values.bus !== undefined) {
    if (values.region === undefined) throw new CliUsageError("--region is required with --bus");
    return { bus: values.bus, region: values.region, local: false };
  }
  const path = values["stack-json"] ?? join(process.cwd(), ".local", "stack.json");
  let events: { region: string; event_bus_name: string; eventbridge_endpoint: string; sqs_endpoint: string };
  try {
    events = (JSON.parse(readFileSync(path, "utf8")) as { events: typeof events }).events;
  } catch {
    throw new CliUsageError(`--bus is required: no local stack found (${path}; npm start)`);
  }
  if (events === undefined) throw new CliUsageError(`${path} names no event bus: restart npm start`);
  return {
    bus: events.event_bus_name,
    region: events.region,
    eventbridge: events.eventbridge_endpoint,
    sqs: events.sqs_endpoint,
    local: true,
  };
}

/** One line per event: time, detail-type, what it is about, its event_id. */
function describe(event: { time?: string; "detail-type"?: string; detail?: Record<string, unknown> }): string {
  const d = event.detail ?? {};
  const about = ["coupon_id", "campaign_id", "stock_id", "openid", "used_amount", "state"]
    .filter((k) => d[k] !== undefined)
    .map((k) => `${k}=${String(d[k])}`)
    .join(" ");
  return `${event.time ?? ""}  ${String(event["detail-type"]).padEnd(24)} ${about}  event_id=${String(d.event_id ?? "")}`;
}
