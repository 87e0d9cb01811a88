import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { type BuildOptions, buildWxcoupon, type WxcouponStacks } from "../../infra/build.js";

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
