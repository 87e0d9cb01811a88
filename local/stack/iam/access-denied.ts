import type { ServiceName } from "./requests.js";

/** The principal a function's calls are made as: its execution role, assumed by Lambda for the function. */
export interface Principal {
  account: string;
  roleName: string;
  functionName: string;
}

export interface WireError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`: Lambda names the session after the function. */
export function assumedRoleArn(p: Principal): string {
  return `arn:aws:sts::${p.account}:assumed-role/${p.roleName}/${p.functionName}`;
}

/**
 * The answer AWS gives a call IAM denies, in the service's wire protocol, so the SDK raises the same exception it
 * raises in AWS (its own deserializer builds the error; nothing here imitates an SDK class).
 *
 * - DynamoDB (JSON 1.0) and Secrets Manager (JSON 1.1): HTTP 400, `__type` AccessDeniedException, and the IAM message
 *   "User: … is not authorized to perform: ACTION on resource: ARN because no identity-based policy allows the ACTION
 *   action" (or "… with an explicit deny in an identity-based policy"): the forms IAM documents in
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html, status per each service's Common
 *   Errors page (e.g. https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html).
 * - SQS (JSON protocol, query-compatible): the SDK names the error after the `x-amzn-query-error` header
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html), and SQS
 *   denies with the code `AccessDenied` and the message "Access to the resource https://sqs.REGION.amazonaws.com/ is
 *   denied." (https://repost.aws/knowledge-center/sqs-accessdenied-errors); HTTP 403 as the query protocol's
 *   AccessDenied.
 * - S3 (REST-XML): HTTP 403 with an `<Error>` document, code `AccessDenied` and the same IAM message
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html).
 */
export function accessDenied(
  service: ServiceName,
  principal: Principal,
  action: string,
  resource: string,
  explicit: boolean,
  region: string,
): WireError {
  const requestId = crypto.randomUUID();
  if (service === "sqs") {
    return {
      status: 403,
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": requestId,
        "x-amzn-query-error": "AccessDenied;Sender",
      },
      body: JSON.stringify({
        __type: "com.amazon.coral.service#AccessDeniedException",
        message: `Access to the resource https://sqs.${region}.amazonaws.com/ is denied.`,
      }),
    };
  }
  const reason = explicit
    ? "with an explicit deny in an identity-based policy"
    : `because no identity-based policy allows the ${action} action`;
  const message = `User: ${assumedRoleArn(principal)} is not authorized to perform: ${action} on resource: "${resource}" ${reason}`;
  if (service === "s3") {
    return {
      status: 403,
      headers: { "content-type": "application/xml", "x-amz-request-id": requestId },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")}</Message><RequestId>${requestId}</RequestId></Error>`,
    };
  }
  return {
    status: 400,
    headers: {
      "content-type": service === "dynamodb" ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
      "x-amzn-requestid": requestId,
    },
    body: JSON.stringify({
      __type: "com.amazon.coral.service#AccessDeniedException",
      Message: `User: ${assumedRoleArn(principal)} is not authorized to perform: ${action} on resource: ${resource} ${reason}`,
    }),
  };
}
