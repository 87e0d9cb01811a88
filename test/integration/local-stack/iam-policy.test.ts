import { describe, expect, it } from "vitest";
import { arnMatches, evaluate, type PolicyStatement } from "../../../local/stack/iam/evaluate.js";
import { authorizationsFor, type LocalArns } from "../../../local/stack/iam/requests.js";
import { type LocalResources, localResolver, resolveFunction } from "../../../local/stack/template/local-resources.js";
import { loadServiceModel } from "../../../local/stack/template/read-template.js";

// The real role policies of the synthesized template, resolved against local resource names (as fauxqs names queues).
const model = loadServiceModel();
const queue = (name: string) => ({
  name,
  url: `http://sqs.us-east-1.localhost:4566/000000000000/${name}`,
  arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
});
const local: LocalResources = {
  tableName: "wxcoupon",
  queues: {
    send: queue("wxcoupon-send"),
    sendDlq: queue("wxcoupon-send-dlq"),
    events: queue("wxcoupon-coupon-events"),
    eventsDlq: queue("wxcoupon-coupon-events-dlq"),
    exports: queue("wxcoupon-exports"),
    exportsDlq: queue("wxcoupon-exports-dlq"),
    streamFailureDlq: queue("wxcoupon-events-stream-dlq"),
    forward: queue("wxcoupon-event-forward"),
    forwardDlq: queue("wxcoupon-event-forward-dlq"),
  },
  signingSecretArn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:wxcoupon/event-signing",
  secretArn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:wxcoupon/merchant-AbCdEf",
  exportBucketName: model.exportBucket.name,
  eventBus: { name: "wxcoupon-local", arn: "arn:aws:events:us-east-1:000000000000:event-bus/wxcoupon-local" },
};
const ctx = localResolver(model, local);
const worker = resolveFunction(model, "send-worker", ctx);
const notify = resolveFunction(model, "notify", ctx);
const api = resolveFunction(model, "api", ctx);
const arns: LocalArns = { region: "us-east-1", account: "000000000000", secretArn: () => local.secretArn };

const decide = (statements: PolicyStatement[], service: "dynamodb" | "sqs" | "secretsmanager", op: string, body = {}) =>
  authorizationsFor(service, op, body, arns).map((r) => evaluate(statements, r).decision);

describe("IAM on the template's real role policies", () => {
  it("holds the export bucket's objects to the exports/ prefix: the export function writes, the api reads (signs)", () => {
    const exporter = resolveFunction(model, "export", ctx);
    const bucket = model.exportBucket.name;
    const s3 = (statements: PolicyStatement[], method: string, url: string) =>
      authorizationsFor("s3", "", {}, arns, { method, url }).map((r) => evaluate(statements, r).decision);
    const key = `/${bucket}/exports/c1/exp_aaaaaaaaaaaaaaaaaaaaaaaa.csv`;
    // CreateMultipartUpload, UploadPart, CompleteMultipartUpload: all s3:PutObject.
    expect(s3(exporter.statements, "POST", `${key}?uploads`)).toEqual(["allow"]);
    expect(s3(exporter.statements, "PUT", `${key}?partNumber=1&uploadId=u1`)).toEqual(["allow"]);
    expect(s3(exporter.statements, "POST", `${key}?uploadId=u1`)).toEqual(["allow"]);
    // HeadObject (s3:GetObject) on its own prefix: a repeated completion answered NoSuchUpload looks for the object
    // the first one made (shared/adapters/s3/s3-export-objects.ts). Outside the prefix still nothing.
    expect(s3(exporter.statements, "HEAD", key)).toEqual(["allow"]);
    expect(s3(exporter.statements, "GET", `/${bucket}/other.csv`)).toEqual(["implicitDeny"]);
    expect(
      s3(api.statements, "GET", `${key}?X-Amz-Credential=LOCALAPIKEY%2F20261206%2Fus-east-1%2Fs3%2Faws4_request`),
    ).toEqual(["allow"]);
    expect(s3(api.statements, "PUT", key)).toEqual(["implicitDeny"]);
    // Nothing outside the prefix, no bucket-level action, no other bucket.
    expect(s3(exporter.statements, "PUT", `/${bucket}/other.csv`)).toEqual(["implicitDeny"]);
    expect(s3(api.statements, "GET", `/${bucket}`)).toEqual(["implicitDeny"]);
    expect(s3(api.statements, "GET", `/another-bucket/exports/x.csv`)).toEqual(["implicitDeny"]);
    expect(exporter.environment).toMatchObject({
      TABLE_NAME: "wxcoupon",
      EXPORT_BUCKET_NAME: bucket,
      EXPORT_QUEUE_URL: local.queues.exports.url,
    });
    expect(exporter.environment).not.toHaveProperty("SECRET_ID");
  });

  it("resolves the environment to the local resources", () => {
    expect(worker.environment).toMatchObject({
      TABLE_NAME: "wxcoupon",
      SEND_QUEUE_URL: local.queues.send.url,
      SEND_DLQ_URL: local.queues.sendDlq.url,
      SECRET_ID: local.secretArn,
    });
  });

  it("allows what bindTable grants, on the table and on the named index only", () => {
    expect(decide(worker.statements, "dynamodb", "UpdateItem", { TableName: "wxcoupon" })).toEqual(["allow"]);
    expect(decide(worker.statements, "dynamodb", "Query", { TableName: "wxcoupon", IndexName: "gsi1" })).toEqual([
      "allow",
    ]);
    expect(decide(worker.statements, "dynamodb", "Query", { TableName: "wxcoupon", IndexName: "other" })).toEqual([
      "implicitDeny",
    ]);
    expect(decide(worker.statements, "dynamodb", "DeleteItem", { TableName: "wxcoupon" })).toEqual(["implicitDeny"]);
    expect(decide(worker.statements, "dynamodb", "GetItem", { TableName: "another" })).toEqual(["implicitDeny"]);
    expect(decide(notify.statements, "dynamodb", "BatchGetItem", { RequestItems: { wxcoupon: {} } })).toEqual([
      "implicitDeny",
    ]);
  });

  it("authorizes SQS batch calls as their single-message action", () => {
    const body = { QueueUrl: local.queues.sendDlq.url };
    expect(decide(worker.statements, "sqs", "SendMessageBatch", body)).toEqual(["allow"]);
    expect(decide(worker.statements, "sqs", "DeleteMessageBatch", { QueueUrl: local.queues.send.url })).toEqual([
      "allow",
    ]);
    expect(decide(api.statements, "sqs", "SendMessageBatch", { QueueUrl: local.queues.send.url })).toEqual(["allow"]);
    expect(decide(api.statements, "sqs", "ReceiveMessage", { QueueUrl: local.queues.send.url })).toEqual([
      "implicitDeny",
    ]);
    expect(decide(notify.statements, "sqs", "SendMessage", { QueueUrl: local.queues.send.url })).toEqual([
      "implicitDeny",
    ]);
  });

  it("lets the send worker re-enqueue a waiting send on its own queue (issue 14: the grant was missing)", () => {
    expect(decide(worker.statements, "sqs", "SendMessage", { QueueUrl: local.queues.send.url })).toEqual(["allow"]);
  });

  it("denies a call once its statement is removed from the policy", () => {
    const body = { SecretId: local.secretArn };
    expect(decide(notify.statements, "secretsmanager", "GetSecretValue", body)).toEqual(["allow"]);
    const withoutSecret = notify.statements.filter((s) => ![s.Action].flat().includes("secretsmanager:GetSecretValue"));
    expect(withoutSecret.length).toBe(notify.statements.length - 1);
    expect(decide(withoutSecret, "secretsmanager", "GetSecretValue", body)).toEqual(["implicitDeny"]);
  });

  it("lets an explicit Deny win over an Allow", () => {
    const deny: PolicyStatement = { Effect: "Deny", Action: "dynamodb:Update*", Resource: "*" };
    expect(decide([...worker.statements, deny], "dynamodb", "UpdateItem", { TableName: "wxcoupon" })).toEqual([
      "explicitDeny",
    ]);
    expect(decide([...worker.statements, deny], "dynamodb", "PutItem", { TableName: "wxcoupon" })).toEqual(["allow"]);
  });
});

describe("policy evaluation rules", () => {
  const request = { action: "sqs:SendMessage", resource: "arn:aws:sqs:us-east-1:000000000000:jobs" };

  it("matches actions case-insensitively with * and ?", () => {
    for (const Action of ["SQS:sendmessage", "sqs:Send*", "sqs:SendMessag?", "sqs:*", "*"])
      expect(evaluate([{ Effect: "Allow", Action, Resource: "*" }], request).decision).toBe("allow");
    for (const Action of ["sqs:SendMessage?", "sqs:Receive*", "dynamodb:*"])
      expect(evaluate([{ Effect: "Allow", Action, Resource: "*" }], request).decision).toBe("implicitDeny");
  });

  it("matches resources case-sensitively, * within a segment and freely in the resource part", () => {
    expect(arnMatches("arn:aws:sqs:*:000000000000:jo?s", request.resource)).toBe(true);
    expect(arnMatches("arn:aws:sqs:us-east-1:000000000000:Jobs", request.resource)).toBe(false);
    expect(arnMatches("arn:aws:dynamodb:us-east-1:1:table/t*", "arn:aws:dynamodb:us-east-1:1:table/t/index/g")).toBe(
      true,
    );
    expect(arnMatches("arn:aws:dynamodb:us-*:1:table/t", "arn:aws:dynamodb:us-east-1:extra:1:table/t")).toBe(false);
  });

  it("reads NotAction and NotResource", () => {
    expect(evaluate([{ Effect: "Allow", NotAction: "sqs:Receive*", Resource: "*" }], request).decision).toBe("allow");
    expect(evaluate([{ Effect: "Allow", NotAction: "sqs:*", Resource: "*" }], request).decision).toBe("implicitDeny");
    expect(evaluate([{ Effect: "Deny", Action: "*", NotResource: "arn:aws:sqs:*:*:jobs" }], request).decision).toBe(
      "implicitDeny",
    );
    expect(evaluate([{ Effect: "Deny", Action: "*", NotResource: "arn:aws:sqs:*:*:other" }], request).decision).toBe(
      "explicitDeny",
    );
  });

  it("evaluates the conditions it knows and reads the others conservatively", () => {
    const allow = (Condition: PolicyStatement["Condition"]): PolicyStatement => ({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition,
    });
    const secure = { ...request, context: { "aws:SecureTransport": "true" } };
    expect(evaluate([allow({ Bool: { "aws:SecureTransport": "true" } })], secure).decision).toBe("allow");
    expect(evaluate([allow({ Bool: { "aws:SecureTransport": "false" } })], secure).decision).toBe("implicitDeny");
    // an unknown key: the Allow does not apply, a Deny does
    expect(evaluate([allow({ StringEquals: { "kms:ViaService": "x" } })], secure).decision).toBe("implicitDeny");
    const deny: PolicyStatement = { Effect: "Deny", Action: "*", Resource: "*", Condition: { IpAddress: { a: "b" } } };
    expect(evaluate([allow(undefined), deny], secure).decision).toBe("explicitDeny");
  });
});
