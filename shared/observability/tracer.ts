import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";

/**
 * The X-Ray tracer for the function entries. Responses are never recorded as trace metadata (they carry openids
 * and coupon data): the instance is built with POWERTOOLS_TRACER_CAPTURE_RESPONSE=false unless the environment says
 * otherwise, which also covers `captureMethod`, and the middleware below passes `captureResponse: false`.
 *
 * Outside Lambda (no AWS_EXECUTION_ENV, e.g. vitest, the local stack) or under SAM/Amplify local, Powertools
 * disables tracing by itself: importing this module needs no X-Ray daemon, and every tracer call is a no-op.
 * In Lambda the ESM bundle needs the `createRequire` banner (the X-Ray SDK is CommonJS): infra/ sets it.
 */
export const tracer: Tracer = withEnvDefault(
  "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
  "false",
  () => new Tracer({ serviceName: "wxcoupon" }),
);

/** The middy middleware for the entries: `middy(handler).use(traceLambdaHandler())`. */
export function traceLambdaHandler() {
  return captureLambdaHandler(tracer, { captureResponse: false });
}

/** Runs `build` with an environment default in place, without leaving it in process.env (the Tracer reads it once). */
function withEnvDefault<T>(name: string, value: string, build: () => T): T {
  if (process.env[name] !== undefined) return build();
  process.env[name] = value;
  try {
    return build();
  } finally {
    delete process.env[name];
  }
}
