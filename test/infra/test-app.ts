import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { type BuildOptions, buildWxcoupon, type WxcouponStacks } from "../../infra/build.js";
import type { FunctionKind } from "../../infra/constructs/wx-function.js";

/** Context every test app starts from: explicit account/region (no lookups), a dev environment. */
export const BASE_CONTEXT = {
  env: "test",
  account: "111111111111",
  region: "ap-east-1",
  mchid: "1900000001",
} as const;

export interface TestApp extends WxcouponStacks {
  app: App;
  outdir: string;
  statefulTemplate: Template;
  serviceTemplate: Template;
}

/**
 * Builds the app with `context` over BASE_CONTEXT. Bundling is skipped unless `bundle` is set (unit tests only read
 * templates); cdk-nag is off unless `options.nag` is set, because Template.fromStack is not where nag is judged.
 */
export function buildTestApp(
  context: Record<string, unknown> = {},
  options: BuildOptions & { bundle?: boolean; templates?: boolean } = {},
): TestApp {
  const outdir = mkdtempSync(join(tmpdir(), "wxcoupon-cdk-"));
  const app = new App({
    outdir,
    context: { ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }), ...BASE_CONTEXT, ...context },
  });
  const built = buildWxcoupon(app, { nag: false, ...options });
  const templates = options.templates ?? true;
  return {
    app,
    outdir,
    ...built,
    statefulTemplate: templates ? Template.fromStack(built.stateful) : (undefined as never),
    serviceTemplate: templates ? Template.fromStack(built.service) : (undefined as never),
  };
}

export interface Resource<P = Record<string, unknown>> {
  Type: string;
  Properties?: P;
  DeletionPolicy?: string;
}

/** Resources of one type as [logicalId, resource]; `P` types the properties the caller reads. */
export function resourcesOfType<P = Record<string, unknown>>(
  template: Template,
  type: string,
): [string, Resource<P>][] {
  const resources = template.toJSON().Resources as Record<string, Resource<P>>;
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

export type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

/** Logical id of the Lambda function of `kind` in the service stack. */
export function functionLogicalId(built: TestApp, kind: FunctionKind): string {
  const fn = built.service.functions[kind];
  if (!fn) throw new Error(`no ${kind} function`);
  return built.service.getLogicalId(fn.node.defaultChild as CfnFunction);
}

/** Statements of the policies attached to the execution role of `kind`. */
export function roleStatements(built: TestApp, kind: FunctionKind): Statement[] {
  const fn = built.service.functions[kind];
  if (!fn) throw new Error(`no ${kind} function`);
  const roleId = built.service.getLogicalId(fn.executionRole.node.defaultChild as CfnElement);
  return resourcesOfType(built.serviceTemplate, "AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles).includes(roleId))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** The function's environment variables as synthesized (values may be intrinsics). */
export function functionEnvironment(built: TestApp, kind: FunctionKind): Record<string, unknown> {
  const resources = built.serviceTemplate.toJSON().Resources;
  return resources[functionLogicalId(built, kind)].Properties.Environment.Variables;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
