import { describe, expect, it } from "vitest";
import { traceLambdaHandler, tracer } from "#shared/observability/tracer.js";

describe("tracer", () => {
  it("imports outside Lambda without an X-Ray daemon, with tracing off", () => {
    expect(process.env.AWS_EXECUTION_ENV).toBeUndefined();
    expect(tracer.isTracingEnabled()).toBe(false);
  });

  it("does not leave its capture-response default in the environment", () => {
    expect(process.env.POWERTOOLS_TRACER_CAPTURE_RESPONSE).toBeUndefined();
  });

  it("gives a middy middleware that is a no-op outside Lambda", async () => {
    const middleware = traceLambdaHandler();
    const request = { event: {}, context: {}, internal: {}, response: { statusCode: 200 } } as never;
    await middleware.before?.(request);
    await middleware.after?.(request);
    expect(typeof middleware.onError).toBe("function");
  });
});
