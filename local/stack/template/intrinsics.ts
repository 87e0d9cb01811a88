/**
 * Resolves CloudFormation intrinsic functions in a synthesized template against the local resources, the way
 * CloudFormation resolves them at deploy time: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split` and `Fn::ImportValue` (the service stack reaches the stateful stack's table, queues and secret only
 * through exports, so cross-stack references must resolve too). Intrinsic function reference:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
 */

export type CfnTemplate = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
};

/** What CloudFormation would know about one deployed resource: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

export interface ResolveContext {
  /** Every stack of the app, by stack name (exports are looked up across all of them). */
  stacks: Record<string, CfnTemplate>;
  account: string;
  region: string;
  partition?: string;
  /** The physical resource behind a logical id of a stack; throw when the local stack has none. */
  physical(stackName: string, logicalId: string): PhysicalResource;
}

export class UnresolvableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnresolvableError";
  }
}

/** Resolves `value` (any template fragment) in stack `stackName`; plain values come back unchanged. */
export function resolveValue(value: unknown, stackName: string, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, stackName, ctx));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [fn, arg] = entries[0]!;
    switch (fn) {
      case "Ref":
        return ref(String(arg), stackName, ctx);
      case "Fn::GetAtt": {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.+)/);
        const resource = ctx.physical(stackName, String(id));
        const out = resource.attributes[String(attribute)];
        if (out === undefined) throw new UnresolvableError(`${stackName}: no attribute ${attribute} on ${id}`);
        return out;
      }
      case "Fn::Join": {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolveValue(parts, stackName, ctx) as unknown[]).map(String).join(separator);
      }
      case "Fn::Select": {
        const [index, list] = arg as [unknown, unknown];
        return (resolveValue(list, stackName, ctx) as unknown[])[Number(resolveValue(index, stackName, ctx))];
      }
      case "Fn::Split": {
        const [separator, source] = arg as [string, unknown];
        return String(resolveValue(source, stackName, ctx)).split(separator);
      }
      case "Fn::Sub":
        return sub(arg, stackName, ctx);
      case "Fn::ImportValue":
        return importValue(String(resolveValue(arg, stackName, ctx)), ctx);
      default:
        if (fn.startsWith("Fn::") || fn === "Condition")
          throw new UnresolvableError(`${stackName}: intrinsic ${fn} is not supported locally`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, stackName, ctx)]));
}

/** Resolves to a string (environment variables, ARNs). */
export function resolveString(value: unknown, stackName: string, ctx: ResolveContext): string {
  const resolved = resolveValue(value, stackName, ctx);
  if (typeof resolved !== "string" && typeof resolved !== "number")
    throw new UnresolvableError(`${stackName}: expected a string, got ${JSON.stringify(resolved)}`);
  return String(resolved);
}

function ref(name: string, stackName: string, ctx: ResolveContext): string {
  switch (name) {
    case "AWS::AccountId":
      return ctx.account;
    case "AWS::Region":
      return ctx.region;
    case "AWS::Partition":
      return ctx.partition ?? "aws";
    case "AWS::URLSuffix":
      return "amazonaws.com";
    case "AWS::StackName":
      return stackName;
    case "AWS::NoValue":
      throw new UnresolvableError("AWS::NoValue is not supported locally");
    default:
      return ctx.physical(stackName, name).ref;
  }
}

function sub(arg: unknown, stackName: string, ctx: ResolveContext): string {
  const [text, variables] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [String(arg), {}];
  return text.replace(/\$\{(!?)([^}]+)\}/g, (_whole, literal: string, name: string) => {
    if (literal) return `\${${name}}`;
    if (name in variables) return resolveString(variables[name], stackName, ctx);
    const [id, attribute] = name.split(/\.(.+)/);
    if (attribute !== undefined) return resolveString({ "Fn::GetAtt": [id, attribute] }, stackName, ctx);
    return ref(name, stackName, ctx);
  });
}

function importValue(exportName: string, ctx: ResolveContext): unknown {
  for (const [stackName, template] of Object.entries(ctx.stacks)) {
    for (const output of Object.values(template.Outputs ?? {})) {
      if (output.Export && resolveValue(output.Export.Name, stackName, ctx) === exportName)
        return resolveValue(output.Value, stackName, ctx);
    }
  }
  throw new UnresolvableError(`no stack exports ${exportName}`);
}
