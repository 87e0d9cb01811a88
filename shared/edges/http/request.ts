import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { z } from "zod";
import { badRequest } from "./http-error.js";

/** The raw request body as text (API Gateway base64-encodes binary bodies). */
export function rawBody(event: Pick<APIGatewayProxyEventV2, "body" | "isBase64Encoded">): string {
  if (!event.body) return "";
  return event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
}

/** Parses and validates a JSON body; every failure is a 400 naming the field. */
export function jsonBody<T extends z.ZodType>(event: APIGatewayProxyEventV2, schema: T): z.infer<T> {
  const text = rawBody(event);
  if (text.trim() === "") throw badRequest("body", "a JSON body is required", "BODY_REQUIRED");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("body", "is not valid JSON", "INVALID_JSON");
  }
  return validate(schema, value, "");
}

/** Validates query-string parameters (all strings; schemas coerce). */
export function queryParams<T extends z.ZodType>(event: APIGatewayProxyEventV2, schema: T): z.infer<T> {
  return validate(schema, event.queryStringParameters ?? {}, "");
}

export function pathParams<T extends z.ZodType>(event: APIGatewayProxyEventV2, schema: T): z.infer<T> {
  return validate(schema, event.pathParameters ?? {}, "");
}

export function validate<T extends z.ZodType>(schema: T, value: unknown, prefix: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") path.push(...issue.keys);
  const field = [prefix, ...path].filter(Boolean).join(".") || "body";
  throw badRequest(field, issue.message);
}
