import type { AuthorizationRequest } from "./evaluate.js";

/**
 * What IAM authorizes for one AWS API call: the action and resource of each authorization the service makes, taken
 * from the call as it goes over the wire (the JSON protocols' `X-Amz-Target` operation and body). Actions and resource
 * types are from the Service Authorization Reference:
 * - DynamoDB: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html (a Query or
 *   Scan with `IndexName` is authorized on the index ARN `table/NAME/index/INDEX`; batch calls once per table);
 * - SQS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html (the batch calls are
 *   authorized as their single-message action: `SendMessageBatch` needs `sqs:SendMessage`, and so on; see the
 *   SendMessageBatch API reference);
 * - Secrets Manager: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html;
 * - S3 (REST: the operation is the method, path and query, path-style URLs): object reads `s3:GetObject`, object
 *   writes and the three multipart calls that write (CreateMultipartUpload, UploadPart, CompleteMultipartUpload)
 *   `s3:PutObject`, aborting `s3:AbortMultipartUpload`, on `arn:aws:s3:::BUCKET/KEY`; bucket calls on the bucket ARN
 *   (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). A presigned URL is
 *   authorized as its signer (the key in `X-Amz-Credential`);
 * - EventBridge: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
 *   (`events:PutEvents` on each entry's event bus, the account's `default` bus when an entry names none).
 */
export type ServiceName = "dynamodb" | "sqs" | "secretsmanager" | "s3" | "events";

/** An S3 call's method and path with query, as received. */
export interface RestRequest {
  method: string;
  url: string;
}

export interface LocalArns {
  region: string;
  account: string;
  /** The ARN of a secret given by name or ARN (Secrets Manager accepts either as `SecretId`). */
  secretArn(secretId: string): string;
}

const SQS_BATCH_ACTIONS: Record<string, string> = {
  SendMessageBatch: "SendMessage",
  DeleteMessageBatch: "DeleteMessage",
  ChangeMessageVisibilityBatch: "ChangeMessageVisibility",
};

/** Transaction items name the action they stand for (TransactWriteItems API reference). */
const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  ConditionCheck: "ConditionCheckItem",
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  Get: "GetItem",
};

export function authorizationsFor(
  service: ServiceName,
  operation: string,
  body: Record<string, unknown>,
  arns: LocalArns,
  request: RestRequest = { method: "POST", url: "/" },
): AuthorizationRequest[] {
  switch (service) {
    case "s3":
      return [s3(request)];
    case "dynamodb":
      return dynamodb(operation, body, arns);
    case "sqs": {
      const action = `sqs:${SQS_BATCH_ACTIONS[operation] ?? operation}`;
      return [{ action, resource: queueArn(body, arns) }];
    }
    case "secretsmanager": {
      const secretId = body.SecretId;
      const resource = typeof secretId === "string" ? arns.secretArn(secretId) : "*";
      return [{ action: `secretsmanager:${operation}`, resource }];
    }
    case "events": {
      const entries = Array.isArray(body.Entries) ? (body.Entries as { EventBusName?: unknown }[]) : [];
      const buses = new Set(entries.map((e) => (typeof e.EventBusName === "string" ? e.EventBusName : "default")));
      return [...buses].map((bus) => ({
        action: `events:${operation}`,
        resource: bus.startsWith("arn:") ? bus : `arn:aws:events:${arns.region}:${arns.account}:event-bus/${bus}`,
      }));
    }
  }
}

export function tableArn(tableNameOrArn: string, arns: LocalArns): string {
  return tableNameOrArn.startsWith("arn:")
    ? tableNameOrArn
    : `arn:aws:dynamodb:${arns.region}:${arns.account}:table/${tableNameOrArn}`;
}

function dynamodb(operation: string, body: Record<string, unknown>, arns: LocalArns): AuthorizationRequest[] {
  const action = `dynamodb:${operation}`;
  if (typeof body.TableName === "string") {
    const table = tableArn(body.TableName, arns);
    const resource = typeof body.IndexName === "string" ? `${table}/index/${body.IndexName}` : table;
    return [{ action, resource }];
  }
  if (typeof body.RequestItems === "object" && body.RequestItems !== null) {
    return Object.keys(body.RequestItems).map((name) => ({ action, resource: tableArn(name, arns) }));
  }
  if (Array.isArray(body.TransactItems)) {
    return (body.TransactItems as Record<string, { TableName?: string }>[]).flatMap((item) =>
      Object.entries(item).map(([kind, inner]) => ({
        action: `dynamodb:${TRANSACT_ITEM_ACTIONS[kind] ?? kind}`,
        resource: tableArn(inner.TableName ?? "", arns),
      })),
    );
  }
  // ListTables and the like have no resource-level permission.
  return [{ action, resource: "*" }];
}

/** A queue's ARN from its URL (`…/ACCOUNT/NAME`) or, for GetQueueUrl/CreateQueue, its name. */
function queueArn(body: Record<string, unknown>, arns: LocalArns): string {
  if (typeof body.QueueUrl === "string") {
    const [account, name] = new URL(body.QueueUrl).pathname.split("/").filter(Boolean).slice(-2);
    return `arn:aws:sqs:${arns.region}:${account}:${name}`;
  }
  if (typeof body.QueueName === "string") return `arn:aws:sqs:${arns.region}:${arns.account}:${body.QueueName}`;
  return "*";
}

function s3(request: RestRequest): AuthorizationRequest {
  const url = new URL(request.url, "http://s3.local");
  const [bucket = "", ...rest] = url.pathname.split("/").filter((_, i) => i > 0);
  const key = decodeURIComponent(rest.join("/"));
  const q = url.searchParams;
  const method = request.method.toUpperCase();
  if (key === "") {
    const bucketArn = `arn:aws:s3:::${bucket}`;
    if (method === "PUT") return { action: "s3:CreateBucket", resource: bucketArn };
    if (method === "DELETE") return { action: "s3:DeleteBucket", resource: bucketArn };
    if (method === "POST" && q.has("delete")) return { action: "s3:DeleteObject", resource: `${bucketArn}/*` };
    return { action: "s3:ListBucket", resource: bucketArn };
  }
  const resource = `arn:aws:s3:::${bucket}/${key}`;
  if (method === "GET" || method === "HEAD") return { action: "s3:GetObject", resource };
  if (method === "DELETE") {
    return { action: q.has("uploadId") ? "s3:AbortMultipartUpload" : "s3:DeleteObject", resource };
  }
  // PUT (an object, a part, a copy) and POST (?uploads, ?uploadId): writes.
  return { action: "s3:PutObject", resource };
}
