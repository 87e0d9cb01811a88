import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export interface LambdaContextOptions {
  functionName: string;
  /** The function's timeout; `getRemainingTimeInMillis()` counts down from it. Default 30 s. */
  timeoutMs?: number;
  memoryLimitInMB?: number;
  region?: string;
  requestId?: string;
  /** Injected clock for tests; default Date.now. */
  now?: () => number;
}

/** A Lambda `Context` for local invocations, with a working `getRemainingTimeInMillis`. */
export function makeLambdaContext(options: LambdaContextOptions): Context {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.timeoutMs ?? 30_000);
  const region = options.region ?? process.env.AWS_REGION ?? "us-east-1";
  const unsupported = () => {
    throw new Error("callback-style completion is not supported: return a value or a promise");
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: options.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${options.functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${options.functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
