import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Acknowledgement } from "../../infra/nag.js";
import { buildTestApp } from "./test-app.js";

interface Violation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
}

function violationsIn(outdir: string): { rule: string; path: string }[] {
  const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8")) as {
    pluginReports: { pluginName: string; violations: Violation[] }[];
  };
  return report.pluginReports
    .filter((r) => r.pluginName === "AwsSolutions")
    .flatMap((r) => r.violations)
    .flatMap((v) => v.violatingConstructs.map((c) => ({ rule: v.ruleName, path: c.constructPath })));
}

const covers = (ack: Acknowledgement, v: { rule: string; path: string }): boolean =>
  v.rule === ack.id && (v.path === ack.scope.node.path || v.path.startsWith(`${ack.scope.node.path}/`));

// The configuration with the most findings: a created secret (SMG4), cert-refresh present, IAM caller policy.
const FULL = { wechatpayMode: "platform_certificate" };

describe("cdk-nag AwsSolutions", () => {
  it("passes with the recorded acknowledgements (synth does not throw)", () => {
    const built = buildTestApp(FULL, { nag: true, templates: false });
    expect(() => built.app.synth()).not.toThrow();
  });

  it("passes in JWT mode with an imported secret too", () => {
    const built = buildTestApp(
      {
        auth: "jwt",
        jwtIssuer: "https://issuer.example.com/",
        jwtAudience: "wxcoupon",
        secretArn: "arn:aws:secretsmanager:ap-east-1:111111111111:secret:wxcoupon/merchant-AbCdEf",
      },
      { nag: true, templates: false },
    );
    expect(() => built.app.synth()).not.toThrow();
  });

  it("acknowledges exactly the findings there are: each one needed, none missing", () => {
    const built = buildTestApp(FULL, { nag: true, templates: false, acknowledge: () => false });
    expect(() => built.app.synth()).toThrow(/Acknowledge with .AwsSolutions::/);
    const violations = violationsIn(built.outdir);
    expect(violations.length).toBeGreaterThan(0);
    for (const v of violations) {
      expect(
        built.acknowledgements.some((a) => covers(a, v)),
        `unacknowledged ${v.rule} at ${v.path}`,
      ).toBe(true);
    }
    for (const ack of built.acknowledgements) {
      expect(
        violations.some((v) => covers(ack, v)),
        `stale acknowledgement ${ack.id} on ${ack.scope.node.path}`,
      ).toBe(true);
    }
    expect(new Set(violations.map((v) => v.rule.replace(/\[.*$/, "")))).toEqual(
      // SQS3: the events stream's on-failure queue is a dead-letter destination cdk-nag cannot see as one.
      new Set([
        "AwsSolutions-SMG4",
        "AwsSolutions-APIG4",
        "AwsSolutions-IAM5",
        "AwsSolutions-L1",
        "AwsSolutions-S1",
        "AwsSolutions-SQS3",
      ]),
    );
    // The export bucket's findings: no access-log bucket (S1) only. It is encrypted (S3-managed), refuses non-TLS
    // requests (S10) and blocks public access (S2), so nothing else is acknowledged for it.
    expect(violations.filter((v) => v.path.includes("ExportBucket")).map((v) => v.rule)).toEqual(["AwsSolutions-S1"]);
  });

  it("fails when the webhook's APIG4 acknowledgement is removed", () => {
    const built = buildTestApp(FULL, {
      nag: true,
      templates: false,
      acknowledge: (a) => a.id !== "AwsSolutions-APIG4",
    });
    expect(() => built.app.synth()).toThrow(/Acknowledge with .AwsSolutions::/);
    expect(violationsIn(built.outdir)).toEqual([
      { rule: "AwsSolutions-APIG4", path: "wxcoupon-test-service/HttpApi/POST--notify--wechatpay/Resource" },
    ]);
  });

  it("gives every acknowledgement a written reason", () => {
    const built = buildTestApp(FULL, { templates: false });
    for (const ack of built.acknowledgements) {
      expect(ack.reason.length, ack.id).toBeGreaterThanOrEqual(60);
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z0-9]+(\[.+\])?$/);
    }
  });
});
