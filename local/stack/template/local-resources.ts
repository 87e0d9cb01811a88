import type { FunctionKind } from "../../../infra/constructs/wx-function.js";
import type { PolicyStatement } from "../iam/evaluate.js";
import { type PhysicalResource, type ResolveContext, resolveString, resolveValue } from "./intrinsics.js";
import type { ServiceModel } from "./read-template.js";
import type { QueueRole } from "./synthesize.js";

/** The local resources standing in for the stateful stack's table, queues and secret. */
export interface LocalResources {
  tableName: string;
  queues: Record<QueueRole, { name: string; url: string; arn: string }>;
  secretArn: string;
  /** The export bucket: the template's own name (it is fixed, infra/settings.ts exportBucketName). */
  exportBucketName: string;
  /** The event forwarder's signing secret in the fake Secrets Manager. */
  signingSecretArn: string;
  /** The local bus (local/stack/events/local-event-bus.ts): the template's name. */
  eventBus: { name: string; arn: string };
}

/** The table stream's ARN as DynamoDB forms it (`table/NAME/stream/LABEL`); the local stream has one label. */
export const localStreamArn = (tableArn: string) => `${tableArn}/stream/local`;

/**
 * A resolver that gives the template's logical ids the local resources' names and ARNs, so `Ref`/`Fn::GetAtt`/
 * `Fn::ImportValue` resolve to what the handlers really talk to. Resources the local stack does not create (log
 * groups, roles, functions) get the ARN CloudFormation would give them, built from their logical id: they appear in
 * policies (logs:PutLogEvents on the function's log group) but no local call reaches them.
 */
export function localResolver(model: ServiceModel, local: LocalResources): ResolveContext {
  const { synthesized } = model;
  const { account, region } = synthesized;
  const ids = synthesized.logicalIds;
  const byId = new Map<string, PhysicalResource>();
  const tableArn = `arn:aws:dynamodb:${region}:${account}:table/${local.tableName}`;
  byId.set(ids.table, { ref: local.tableName, attributes: { Arn: tableArn, StreamArn: localStreamArn(tableArn) } });
  byId.set(ids.eventBus, {
    ref: local.eventBus.name,
    attributes: { Arn: local.eventBus.arn, Name: local.eventBus.name },
  });
  for (const [role, id] of Object.entries(ids.queues) as [QueueRole, string][]) {
    const q = local.queues[role];
    byId.set(id, { ref: q.url, attributes: { Arn: q.arn, QueueName: q.name, QueueUrl: q.url } });
  }
  if (ids.secret) byId.set(ids.secret, { ref: local.secretArn, attributes: {} });
  byId.set(ids.exportBucket, {
    ref: local.exportBucketName,
    attributes: { Arn: `arn:aws:s3:::${local.exportBucketName}` },
  });
  byId.set(ids.signingSecret, { ref: local.signingSecretArn, attributes: {} });

  return {
    stacks: synthesized.templates,
    account,
    region,
    physical(stackName, logicalId) {
      const known = byId.get(logicalId);
      if (known) return known;
      const type = synthesized.templates[stackName]?.Resources[logicalId]?.Type;
      const name = `${stackName}-${logicalId}`;
      switch (type) {
        case "AWS::Logs::LogGroup":
          return { ref: name, attributes: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` } };
        case "AWS::IAM::Role":
          return { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}` } };
        case "AWS::Lambda::Function":
          return { ref: name, attributes: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` } };
        case "AWS::Events::Rule":
          return {
            ref: name,
            attributes: { Arn: `arn:aws:events:${region}:${account}:rule/${local.eventBus.name}/${name}` },
          };
        default:
          throw new Error(`${stackName}/${logicalId} (${type ?? "unknown"}) has no local counterpart`);
      }
    },
  };
}

/** A function's environment and role policy as deployed: every intrinsic resolved to the local resources. */
export interface ResolvedFunction {
  kind: FunctionKind;
  environment: Record<string, string>;
  statements: PolicyStatement[];
  /** The role's name as the local stack names it (the principal in AccessDenied messages). */
  roleName: string;
}

export function resolveFunction(model: ServiceModel, kind: FunctionKind, ctx: ResolveContext): ResolvedFunction {
  const fn = model.functions[kind];
  if (!fn) throw new Error(`the template has no ${kind} function`);
  const stack = model.synthesized.serviceStackName;
  const environment = Object.fromEntries(
    Object.entries(fn.environment).map(([name, value]) => [name, resolveString(value, stack, ctx)]),
  );
  const statements = fn.statements.map((s) => resolveValue(s, stack, ctx) as PolicyStatement);
  return { kind, environment, statements, roleName: ctx.physical(stack, fn.roleLogicalId).ref };
}
