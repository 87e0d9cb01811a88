import { randomUUID } from "node:crypto";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulators, startEmulators } from "#local/stack/emulators.js";
import {
  type FunctionHost,
  type FunctionHostOptions,
  startFunctionHost,
} from "#local/stack/function-host/function-host.js";
import { invokeForSqs } from "#local/stack/function-host/invoke-adapters.js";
import { startSqsPoller } from "#local/stack/sqs-poller.js";

const entry = new URL("../../fixtures/functions/probe.ts", import.meta.url).href;
const hosts: FunctionHost[] = [];
const host = (options: Partial<FunctionHostOptions> = {}) => {
  const created = startFunctionHost({
    functionName: "probe",
    entry,
    env: { PROBE: "from-template" },
    timeoutSeconds: 5,
    memorySize: 256,
    ...options,
  });
  hosts.push(created);
  return created;
};
afterAll(async () => {
  for (const h of hosts) await h.stop();
});

describe("a function in its own execution environment", () => {
  it("runs with the environment it is given and nothing of the host's", async () => {
    const probe = host();
    process.env.HOST_ONLY = "x";
    expect(await probe.invoke({ env: "PROBE" })).toMatchObject({ ok: true, value: { env: "from-template" } });
    expect(await probe.invoke({ env: "HOST_ONLY" })).toMatchObject({ ok: true, value: { env: null } });
    expect(await probe.invoke({ env: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" })).toMatchObject({ value: { env: "256" } });
    expect(probe.coldStarts).toBe(1);
  });

  it("ends an invocation past its timeout and starts a fresh environment for the next one", async () => {
    const probe = host({ timeoutSeconds: 1 });
    const first = await probe.invoke({});
    const timedOut = await probe.invoke({ sleepMs: 3_000 });
    expect(timedOut).toEqual({
      ok: false,
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 1.00 seconds",
    });
    const next = await probe.invoke({});
    expect(next.ok && first.ok && next.value).not.toEqual(first.ok && first.value);
    expect(probe.coldStarts).toBe(2);
  });

  it("fails an invocation that exceeds the memory size as Lambda does, and replaces the environment", async () => {
    const probe = host({ memorySize: 128 });
    const before = await probe.invoke({ allocateMb: 1 });
    expect(before.ok).toBe(true);
    const oom = await probe.invoke({ allocateMb: 400 });
    expect(oom).toMatchObject({ ok: false, errorType: "Runtime.OutOfMemory" });
    const after = await probe.invoke({});
    expect(after.ok).toBe(true);
    expect(probe.coldStarts).toBe(2);
  });

  it("keeps the environment after a handler error, as Lambda's Node.js runtime does", async () => {
    const probe = host();
    expect(await probe.invoke({ fail: "boom" })).toEqual({ ok: false, errorType: "Error", errorMessage: "boom" });
    expect((await probe.invoke({})).ok).toBe(true);
    expect(probe.coldStarts).toBe(1);
  });

  it("reports the INIT an invocation waited for, and its wait for an environment under the local cap", async () => {
    const probe = host({ maxEnvironments: 1 });
    const [first, second] = await Promise.all([probe.invoke({ sleepMs: 300 }), probe.invoke({})]);
    // The first started the one environment (Lambda's REPORT line names its Init Duration); the second waited for it
    // to be released (INIT and the first's 300 ms), then ran warm.
    expect(first).toMatchObject({ ok: true, initDurationMs: expect.any(Number) });
    expect(first.ok && first.queuedMs).toBeLessThan(100);
    expect(second.ok && second.initDurationMs).toBeUndefined();
    expect(second.ok && second.queuedMs).toBeGreaterThanOrEqual(300);
    expect(probe.coldStarts).toBe(1);
  });

  it("throttles invocations beyond its reserved concurrency", async () => {
    const probe = host({ reservedConcurrency: 1 });
    const slow = probe.invoke({ sleepMs: 500 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await probe.invoke({})).toMatchObject({ ok: false, throttled: true, errorType: "TooManyRequestsException" });
    expect((await slow).ok).toBe(true);
  });
});

describe("an SQS-triggered function past its timeout", () => {
  let emulators: Emulators;
  beforeAll(async () => {
    emulators = await startEmulators();
  });
  afterAll(async () => {
    await emulators?.stop();
  });

  it("does not delete the batch: its message comes back after the visibility timeout", async () => {
    const sqs = emulators.sqs;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `t-${randomUUID().slice(0, 8)}`, Attributes: { VisibilityTimeout: "2" } }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ sleepMs: 5_000 }) }));
    const probe = host({ timeoutSeconds: 1 });
    const poller = startSqsPoller({
      client: sqs,
      queueUrl: QueueUrl!,
      handler: invokeForSqs(probe),
      waitTimeSeconds: 1,
      log: () => {},
    });
    // Two invocations of the same message: the first timed out, its batch was not deleted, SQS gave it back.
    while (poller.invocations < 2) await new Promise((r) => setTimeout(r, 100));
    await poller.stop();
    expect(probe.coldStarts).toBeGreaterThanOrEqual(2);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    expect(
      Number(Attributes?.ApproximateNumberOfMessages) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    ).toBe(1);
    const again = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        WaitTimeSeconds: 3,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    expect(Number(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(2);
  });
});
