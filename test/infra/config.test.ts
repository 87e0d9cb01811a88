import { describe, expect, it } from "vitest";
import { eventForwarderEnvSchema } from "#shared/config/env.js";
import { ConfigError, readConfig } from "../../infra/config.js";

const BASE = { account: "111111111111", region: "ap-east-1", mchid: "1900000001" };
const reader =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

function problemsOf(context: Record<string, unknown>): string[] {
  try {
    readConfig(reader(context));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("readConfig", () => {
  it("fills the documented defaults: dev, IAM auth, 500/s, public-key mode, a created secret", () => {
    expect(readConfig(reader(BASE))).toEqual({
      envName: "dev",
      isProd: false,
      account: "111111111111",
      region: "ap-east-1",
      mchid: "1900000001",
      secret: { kind: "create" },
      sendRatePerSecond: 500,
      auth: { kind: "iam", allowedCallers: [], adminCallers: [] },
      wechatpayMode: "public_key",
      eventForwardUrls: [],
    });
  });

  it("takes https event forward URLs (http on loopback only) and refuses anything else", () => {
    expect(
      readConfig(reader({ ...BASE, eventForwardUrls: ["https://hooks.example.com/wx"] })).eventForwardUrls,
    ).toEqual(["https://hooks.example.com/wx"]);
    expect(readConfig(reader({ ...BASE, eventForwardUrls: "http://127.0.0.1:8080/h" })).eventForwardUrls).toEqual([
      "http://127.0.0.1:8080/h",
    ]);
    expect(problemsOf({ ...BASE, eventForwardUrls: ["http://hooks.example.com/wx"] })).toEqual([
      'eventForwardUrls: "http://hooks.example.com/wx" must be an https URL',
    ]);
    // Credentials in the URL would be refused by fetch with the URL in its message (logged, dead-lettered): named
    // without them, and refused at synth.
    expect(problemsOf({ ...BASE, eventForwardUrls: ["https://user:s3cret@hooks.example.com/wx"] })).toEqual([
      'eventForwardUrls: "https://hooks.example.com/wx" must not carry credentials (user:password@)',
    ]);
    // The function's own check of FORWARD_URLS agrees.
    const urls = eventForwarderEnvSchema.shape.FORWARD_URLS;
    expect(urls.safeParse('["https://hooks.example.com/wx"]').success).toBe(true);
    expect(urls.safeParse('["https://user:s3cret@hooks.example.com/wx"]').success).toBe(false);
  });

  it("names every missing required key at once", () => {
    const problems = problemsOf({});
    expect(problems.some((p) => p.startsWith("account: required"))).toBe(true);
    expect(problems.some((p) => p.startsWith("region: required"))).toBe(true);
    expect(problems.some((p) => p.startsWith("mchid: required"))).toBe(true);
  });

  it("takes an environment preset from `environments` and lets -c flags override it", () => {
    const config = readConfig(
      reader({
        env: "prod",
        sendRatePerSecond: "450",
        environments: { prod: { ...BASE, sendRatePerSecond: 300, wechatpayMode: "platform_certificate" } },
      }),
    );
    expect(config).toMatchObject({ envName: "prod", isProd: true, sendRatePerSecond: 450 });
    expect(config.wechatpayMode).toBe("platform_certificate");
  });

  it("rejects unknown keys in an environment preset (typos)", () => {
    expect(problemsOf({ environments: { dev: { ...BASE, sendRate: 10 } } })).toContainEqual(
      expect.stringMatching(/^environments\.dev\.sendRate: unknown key/),
    );
  });

  it("caps the send rate at WeChat's 500/s and wants an integer", () => {
    expect(problemsOf({ ...BASE, sendRatePerSecond: 501 })).toContainEqual(expect.stringMatching(/between 1 and 500/));
    expect(problemsOf({ ...BASE, sendRatePerSecond: "fast" })).toContainEqual(expect.stringMatching(/integer/));
    expect(readConfig(reader({ ...BASE, sendRatePerSecond: "500" })).sendRatePerSecond).toBe(500);
  });

  it("imports a secret by complete ARN only, in the stacks' account and region", () => {
    const arn = "arn:aws:secretsmanager:ap-east-1:111111111111:secret:wxcoupon/merchant-AbCdEf";
    expect(readConfig(reader({ ...BASE, secretArn: arn })).secret).toEqual({ kind: "import", arn });
    expect(problemsOf({ ...BASE, secretArn: "arn:aws:secretsmanager:ap-east-1:111111111111:secret:x" })).toContainEqual(
      expect.stringMatching(/complete Secrets Manager ARN/),
    );
    expect(
      problemsOf({ ...BASE, secretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:wx-AbCdEf" }),
    ).toContainEqual(expect.stringMatching(/secret is in us-east-1/));
    expect(problemsOf({ ...BASE, secretKmsKeyArn: "arn:aws:kms:ap-east-1:111111111111:key/abc" })).toContainEqual(
      expect.stringMatching(/only applies with secretArn/),
    );
  });

  it("parses allowedCallers from a comma list or JSON and refuses other accounts", () => {
    const role = "arn:aws:iam::111111111111:role/issuer";
    const user = "arn:aws:iam::111111111111:user/ops";
    expect(readConfig(reader({ ...BASE, allowedCallers: `${role}, ${user}` })).auth).toEqual({
      kind: "iam",
      allowedCallers: [role, user],
      adminCallers: [],
    });
    expect(readConfig(reader({ ...BASE, allowedCallers: JSON.stringify([role]), adminCallers: user })).auth).toEqual({
      kind: "iam",
      allowedCallers: [role],
      adminCallers: [user],
    });
    expect(problemsOf({ ...BASE, adminCallers: ["arn:aws:iam::222222222222:role/x"] })).toContainEqual(
      expect.stringMatching(/^adminCallers: .*no resource policy/),
    );
    expect(problemsOf({ ...BASE, allowedCallers: ["arn:aws:iam::222222222222:role/x"] })).toContainEqual(
      expect.stringMatching(/no resource policy/),
    );
    expect(problemsOf({ ...BASE, allowedCallers: ["arn:aws:s3:::bucket"] })).toContainEqual(
      expect.stringMatching(/not an IAM role or user ARN/),
    );
  });

  it("JWT auth needs an https issuer and an audience, and takes no allowedCallers", () => {
    expect(
      readConfig(reader({ ...BASE, auth: "jwt", jwtIssuer: "https://id.example.com", jwtAudience: "a,b" })).auth,
    ).toEqual({
      kind: "jwt",
      issuer: "https://id.example.com",
      audience: ["a", "b"],
    });
    const problems = problemsOf({ ...BASE, auth: "jwt", allowedCallers: ["arn:aws:iam::111111111111:role/x"] });
    expect(problems).toContainEqual(expect.stringMatching(/^jwtIssuer: required/));
    expect(problems).toContainEqual(expect.stringMatching(/^jwtAudience: required/));
    expect(problems).toContainEqual(expect.stringMatching(/^allowedCallers\/adminCallers: only apply with auth=iam/));
    expect(problemsOf({ ...BASE, auth: "cognito" })).toContainEqual(expect.stringMatching(/must be iam or jwt/));
  });

  it("wants a custom domain and its certificate together, the certificate in the stacks' region", () => {
    expect(problemsOf({ ...BASE, domainName: "coupons.example.com" })).toContainEqual(
      expect.stringMatching(/give both or neither/),
    );
    expect(
      problemsOf({
        ...BASE,
        domainName: "coupons.example.com",
        certificateArn: "arn:aws:acm:us-east-1:111111111111:certificate/0d5c1e4f-1234-4abc-9def-1234567890ab",
      }),
    ).toContainEqual(expect.stringMatching(/certificate in ap-east-1/));
  });

  it("accepts only the two WeChat Pay verification modes and sane environment names", () => {
    expect(problemsOf({ ...BASE, wechatpayMode: "certs" })).toContainEqual(expect.stringMatching(/^wechatpayMode/));
    expect(problemsOf({ ...BASE, env: "Prod!" })).toContainEqual(expect.stringMatching(/^env:/));
  });
});
