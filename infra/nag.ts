import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

/**
 * cdk-nag 3 (policy-validation plugin). Stacks record their acknowledgements as data instead of applying them on the
 * spot, so the whole list is visible in one place (tests check every reason, and that removing one fails synth).
 * Each acknowledgement names one exact finding (`Rule[Finding]` for IAM4/IAM5); v3 has no prefix or bulk form.
 */
export interface Acknowledgement {
  scope: IConstruct;
  id: string;
  reason: string;
}

export function acknowledgement(scope: IConstruct, id: string, reason: string): Acknowledgement {
  if (reason.trim().length < 40) throw new Error(`acknowledgement ${id}: write a real reason (got "${reason}")`);
  return { scope, id, reason };
}

export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

export function applyAcknowledgements(acknowledgements: readonly Acknowledgement[]): void {
  for (const { scope, id, reason } of acknowledgements) Validations.of(scope).acknowledge({ id, reason });
}
