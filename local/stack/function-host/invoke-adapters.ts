import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { FunctionHost, Invocation } from "./function-host.js";

/** A function error as Lambda reports it to the service that invoked the function. */
export class FunctionError extends Error {
  constructor(readonly invocation: Extract<Invocation, { ok: false }>) {
    super(invocation.errorMessage);
    this.name = invocation.errorType;
  }
}

/**
 * What the SQS event source mapping sees: the response on success, a thrown FunctionError otherwise (then the whole
 * batch stays on the queue and comes back after the visibility timeout,
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 */
export function invokeForSqs(host: FunctionHost) {
  return async (event: SQSEvent): Promise<SQSBatchResponse | undefined> => {
    const result = await host.invoke(event);
    if (!result.ok) throw new FunctionError(result);
    return result.value as SQSBatchResponse | undefined;
  };
}

/** What API Gateway sees: the payload on success, a FunctionError (throttled or failed) otherwise. */
export function invokeForHttp(host: FunctionHost) {
  return async (event: APIGatewayProxyEventV2): Promise<unknown> => {
    const result = await host.invoke(event);
    if (!result.ok) throw new FunctionError(result);
    return result.value;
  };
}
