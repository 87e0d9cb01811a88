import { startHttpGateway } from "#local/stack/http-gateway.js";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { apiEnvSchema, loadEnv } from "#shared/config/env.js";
import { buildApiFunction } from "#shared/runtime/build-api-function.js";
import { recordAwsCalls } from "../helpers/aws-call-recorder.js";

/**
 * The AWS calls (IAM actions, e.g. `dynamodb:GetItem`) each GET of `paths` makes: the api handler built in this
 * process with the stack's api environment, behind a one-route gateway for `route` (a template path such as
 * `/campaigns/{campaign_id}`), so its SDK calls can be recorded (the stack's own api runs in worker threads).
 */
export async function apiReadCalls(stack: LocalStack, route: string, paths: string[]): Promise<string[][]> {
  Object.assign(process.env, stack.functionEnvironment("api"));
  const api = buildApiFunction(loadEnv(apiEnvSchema));
  const recorder = recordAwsCalls();
  const gateway = await startHttpGateway({
    routes: [
      {
        method: "GET",
        path: route,
        handler: (event, context) => recorder.run("api", () => api(event as never, context as never)),
        auth: "none",
      },
    ],
    log: () => {},
  });
  try {
    const result: string[][] = [];
    for (const path of paths) {
      const before = recorder.calls.length;
      const response = await fetch(`${gateway.url}${path}`);
      if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
      result.push(recorder.calls.slice(before).map((c) => c.action));
    }
    return result;
  } finally {
    recorder.restore();
    await gateway.close();
  }
}
