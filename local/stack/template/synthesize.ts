import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { buildWxcoupon } from "../../../infra/build.js";
import type { FunctionKind } from "../../../infra/constructs/wx-function.js";
import type { CfnTemplate } from "./intrinsics.js";
import { readRunCache, writeRunCache } from "./run-cache.js";

/** The queues of the stateful stack, by the role the code gives them. */
export type QueueRole =
  | "send"
  | "sendDlq"
  | "events"
  | "eventsDlq"
  | "streamFailureDlq"
  | "forward"
  | "forwardDlq"
  | "exports"
  | "exportsDlq";

/** The app's two templates as CloudFormation would receive them, and which logical id plays which part. */
export interface SynthesizedApp {
  statefulStackName: string;
  serviceStackName: string;
  templates: Record<string, CfnTemplate>;
  account: string;
  region: string;
  logicalIds: {
    functions: Partial<Record<FunctionKind, string>>;
    queues: Record<QueueRole, string>;
    table: string;
    exportBucket: string;
    /** The service's event bus (stateful stack). */
    eventBus: string;
    /** The event forwarder's signing secret. */
    signingSecret: string;
    /** Absent when the secret is imported (`secretArn` context): then the template holds its ARN. */
    secret?: string;
  };
}

/**
 * The context the local stack synthesizes with: the same keys as `cdk.json` (infra/config.ts), an explicit account
 * and region so synthesis never looks anything up, and no bundling (the local stack runs the sources; bundling only
 * makes the asset, which is not part of the template's configuration). `aws:cdk:bundling-stacks: []` is how
 * test/infra/test-app.ts skips esbuild too.
 */
export const LOCAL_CONTEXT = {
  env: "local",
  account: "000000000000",
  region: "us-east-1",
  mchid: "1900000001",
} as const;

const cache = new Map<string, SynthesizedApp>();

/**
 * Synthesizes the CDK app in this process (infra/build.ts, as `cdk synth` runs infra/app.ts) and returns its templates;
 * cached per process and context, because synthesis takes seconds, and shared by a test run's processes (run-cache.ts).
 * `context` overrides LOCAL_CONTEXT key by key (e.g. `sendRatePerSecond`, which the stacks turn into env variables and
 * the mapping's maximum concurrency).
 */
export function synthesizeApp(context: Record<string, unknown> = {}): SynthesizedApp {
  const merged = { ...LOCAL_CONTEXT, ...context };
  const key = JSON.stringify(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  const cached = cache.get(key);
  if (cached) return cached;
  const shared = readRunCache<SynthesizedApp>(key);
  if (shared) {
    cache.set(key, shared);
    return shared;
  }
  const synthesized = synthesize(merged);
  cache.set(key, synthesized);
  writeRunCache(key, synthesized);
  return synthesized;
}

function synthesize(merged: Record<string, unknown>): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), "wxcoupon-local-synth-"));
  try {
    const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [], ...merged } });
    // cdk-nag judges the templates in test/infra; it changes nothing in them, so it is off here.
    const built = buildWxcoupon(app, { nag: false });
    const assembly = app.synth();
    const templates: Record<string, CfnTemplate> = {};
    for (const stack of [built.stateful, built.service]) {
      templates[stack.stackName] = assembly.getStackByName(stack.stackName).template as CfnTemplate;
    }
    const functions: Partial<Record<FunctionKind, string>> = {};
    for (const [kind, fn] of Object.entries(built.service.functions)) functions[kind as FunctionKind] = logicalId(fn);
    const { stateful } = built;
    // The secrets the stateful stack creates, by name (it creates them as bare CfnSecrets and hands on imported
    // references: infra/stacks/stateful-stack.ts); the merchant's is absent when the operator's is imported.
    const createdSecret = (suffix: string) =>
      Object.entries(templates[stateful.stackName]?.Resources ?? {}).find(
        ([, resource]) =>
          resource.Type === "AWS::SecretsManager::Secret" && String(resource.Properties?.Name ?? "").endsWith(suffix),
      )?.[0];
    const secretId = createdSecret("/merchant");
    const signingSecretId = createdSecret("/event-signing");
    if (signingSecretId === undefined) throw new Error("the stateful stack has no event signing secret");
    const synthesized: SynthesizedApp = {
      statefulStackName: stateful.stackName,
      serviceStackName: built.service.stackName,
      templates,
      account: built.config.account,
      region: built.config.region,
      logicalIds: {
        functions,
        queues: {
          send: logicalId(stateful.sendQueue),
          sendDlq: logicalId(stateful.sendDlq),
          events: logicalId(stateful.eventsQueue),
          eventsDlq: logicalId(stateful.eventsDlq),
          exports: logicalId(stateful.exportQueue),
          exportsDlq: logicalId(stateful.exportDlq),
          streamFailureDlq: logicalId(stateful.streamFailureDlq),
          forward: logicalId(stateful.forwardQueue),
          forwardDlq: logicalId(stateful.forwardDlq),
        },
        table: logicalId(stateful.table),
        exportBucket: logicalId(stateful.exportBucket),
        eventBus: logicalId(stateful.eventBus),
        signingSecret: signingSecretId,
        ...(secretId ? { secret: secretId } : {}),
      },
    };
    return synthesized;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function logicalId(construct: IConstruct): string {
  const child = construct.node.defaultChild as CfnElement | undefined;
  if (!child) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(child);
}
