import { describe, expect, it } from "vitest";
import { checkPattern, matchesPattern } from "#local/stack/events/event-pattern.js";
import { EVENT_CHANGE_FILTERS } from "#shared/adapters/dynamodb/table-stream.js";

// Examples from https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html.
const ec2 = {
  source: "aws.ec2",
  "detail-type": "EC2 Instance State-change Notification",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
  detail: { "instance-id": "i-02ebd4584a2ebd341", state: "running", c_count: 5, d_count: 10, x_limit: 3.018e2 },
};

describe("matchesPattern (EventBridge event patterns)", () => {
  it("matches exact values, any of a list, and nested fields", () => {
    expect(matchesPattern({ source: ["aws.ec2"] }, ec2)).toBe(true);
    expect(matchesPattern({ source: ["aws.s3", "aws.ec2"] }, ec2)).toBe(true);
    expect(matchesPattern({ source: ["aws.s3"] }, ec2)).toBe(false);
    expect(matchesPattern({ detail: { state: ["running"] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: ["stopped"] } }, ec2)).toBe(false);
    // Every field must match.
    expect(matchesPattern({ source: ["aws.ec2"], detail: { state: ["stopped"] } }, ec2)).toBe(false);
  });

  it("matches an array field when any element matches", () => {
    expect(matchesPattern({ resources: [{ prefix: "arn:aws:ec2:" }] }, ec2)).toBe(true);
    expect(matchesPattern({ resources: ["nope"] }, ec2)).toBe(false);
  });

  it("prefix, suffix, equals-ignore-case, wildcard", () => {
    expect(matchesPattern({ detail: { state: [{ prefix: "run" }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ suffix: "ing" }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ suffix: "ed" }] } }, ec2)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ "equals-ignore-case": "RUNNING" }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ prefix: { "equals-ignore-case": "RUN" } }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { "instance-id": [{ wildcard: "i-*341" }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { "instance-id": [{ wildcard: "i-*342" }] } }, ec2)).toBe(false);
  });

  it("anything-but a value, a list or a prefix; never a missing field", () => {
    expect(matchesPattern({ detail: { state: [{ "anything-but": "stopped" }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ "anything-but": ["stopped", "running"] }] } }, ec2)).toBe(false);
    expect(matchesPattern({ detail: { state: [{ "anything-but": { prefix: "run" } }] } }, ec2)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ "anything-but": "x" }] } }, ec2)).toBe(false);
  });

  it("numeric comparisons and ranges", () => {
    expect(matchesPattern({ detail: { c_count: [{ numeric: [">", 0, "<=", 5] }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { d_count: [{ numeric: ["<", 10] }] } }, ec2)).toBe(false);
    expect(matchesPattern({ detail: { x_limit: [{ numeric: ["=", 301.8] }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ numeric: [">", 0] }] } }, ec2)).toBe(false);
  });

  it("exists: true needs the field, false its absence (also under an absent parent)", () => {
    expect(matchesPattern({ detail: { state: [{ exists: true }] } }, ec2)).toBe(true);
    expect(matchesPattern({ detail: { state: [{ exists: false }] } }, ec2)).toBe(false);
    expect(matchesPattern({ detail: { nothing: [{ exists: false }] } }, ec2)).toBe(true);
    expect(matchesPattern({ nowhere: { nothing: [{ exists: false }] } }, ec2)).toBe(true);
    expect(matchesPattern({ nowhere: { nothing: [{ exists: true }] } }, ec2)).toBe(false);
  });

  it("$or: any of the alternatives", () => {
    const pattern = { $or: [{ detail: { c_count: [{ numeric: [">", 10] }] } }, { detail: { d_count: [10] } }] };
    expect(matchesPattern(pattern, ec2)).toBe(true);
    expect(matchesPattern({ $or: [{ source: ["x"] }, { detail: { state: ["y"] } }] }, ec2)).toBe(false);
  });

  it("refuses matchers it does not know instead of guessing", () => {
    expect(() => checkPattern({ detail: { state: [{ cidr: "10.0.0.0/24" }] } })).toThrow(/unsupported/);
    expect(() => checkPattern({ source: "aws.ec2" })).toThrow(/list of matchers/);
    for (const filter of EVENT_CHANGE_FILTERS) expect(() => checkPattern(filter)).not.toThrow();
  });
});

describe("the events publisher's stream filters select transitions", () => {
  const image = (fields: Record<string, string>) =>
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { S: v }]));
  const record = (eventName: string, NewImage?: object, OldImage?: object) => ({
    eventName,
    dynamodb: { ...(NewImage ? { NewImage } : {}), ...(OldImage ? { OldImage } : {}) },
  });
  const passes = (r: object) => EVENT_CHANGE_FILTERS.some((f) => matchesPattern(f, r));

  it("passes a coupon's send, its first use and its refund; drops rewrites of the same state", () => {
    const sent = image({ type: "COUPON", state: "SENT", out_request_no: "o-1" });
    const used = image({ type: "COUPON", state: "USED", out_request_no: "o-1" });
    expect(passes(record("INSERT", sent))).toBe(true);
    expect(passes(record("MODIFY", used, sent))).toBe(true);
    expect(passes(record("MODIFY", used, used))).toBe(false);
    expect(passes(record("INSERT", image({ type: "COUPON", state: "USED" })))).toBe(true);
    expect(passes(record("MODIFY", image({ type: "COUPON", state: "REFUNDED" }), used))).toBe(true);
    expect(passes(record("MODIFY", sent, sent))).toBe(false);
  });

  it("passes a campaign becoming reconciled, nothing else of the table", () => {
    const campaign = (reconciled: boolean) => ({ type: { S: "CAMPAIGN" }, reconciled: { BOOL: reconciled } });
    expect(passes(record("MODIFY", campaign(true), campaign(false)))).toBe(true);
    expect(passes(record("MODIFY", campaign(true), campaign(true)))).toBe(false);
    expect(passes(record("MODIFY", campaign(false), campaign(false)))).toBe(false);
    expect(passes(record("INSERT", image({ type: "SEND", state: "SENT" })))).toBe(false);
    expect(passes(record("INSERT", image({ type: "NOTIFY" })))).toBe(false);
  });

  it("passes a reconciliation run becoming COMPLETED, not its checkpoints, a FAILED run or a rewrite", () => {
    const runImage = (status: string) => image({ type: "RECONCILIATION", status });
    expect(passes(record("MODIFY", runImage("COMPLETED"), runImage("RUNNING")))).toBe(true);
    expect(passes(record("MODIFY", runImage("COMPLETED"), runImage("COMPLETED")))).toBe(false);
    expect(passes(record("MODIFY", runImage("FAILED"), runImage("RUNNING")))).toBe(false);
    expect(passes(record("MODIFY", runImage("RUNNING"), runImage("RUNNING")))).toBe(false);
    expect(passes(record("INSERT", runImage("RUNNING")))).toBe(false);
  });
});
