import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import type { ServiceModel } from "#local/stack/template/read-template.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";
import { queueDepth } from "../../helpers/queue-depth.js";
import { deliverNotification, signedNotification } from "../../helpers/wechat-notification.js";

/** The template as synthesized, but the notify role without the statement that lets it write the table. */
function withoutNotifyWrites(model: ServiceModel): ServiceModel {
  const notify = model.functions.notify!;
  const kept = notify.statements.filter((s) => ![s.Action].flat().includes("dynamodb:PutItem"));
  expect(kept).toHaveLength(notify.statements.length - 1);
  notify.statements = kept;
  return model;
}

let stack: LocalStack;
const lines: string[] = [];
beforeAll(async () => {
  stack = await startTestStack({ templateOverride: withoutNotifyWrites, log: (line) => lines.push(line) });
}, 60_000);
afterAll(async () => stack?.stop());

describe("the local stack holds each function to its role in the template", () => {
  it("answers a call the role does not allow with AccessDenied, and the handler's real error path runs", async () => {
    const stockId = await runningStock(stack, "it-iam-stock");
    const notification = signedNotification(stack, { id: "EV-iam-1", couponId: "990001", stockId });
    const response = await deliverNotification(stack, notification);
    // Storing the notification fails: the webhook answers 5xx so WeChat delivers again.
    expect(response.status).toBeGreaterThanOrEqual(500);
    const table = `arn:aws:dynamodb:${stack.emulators.env.AWS_REGION}:${stack.model.synthesized.account}:table/${stack.emulators.env.TABLE_NAME}`;
    expect(lines).toContain(`iam: AccessDenied wxcoupon-notify dynamodb:PutItem on ${table}`);
    expect(await queueDepth(stack.emulators.sqs, stack.emulators.queues.events.url)).toBe(0);
    // Everything the other roles allow still works: the API reads (no) stored events through DynamoDB.
    const events = await callApi<{ data: unknown[] }>(stack, "GET", "/coupons/990001/events");
    expect(events).toMatchObject({ status: 200, body: { data: [] } });
  });
});
