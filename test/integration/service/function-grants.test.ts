import { type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Context, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpGateway, type HttpLambdaHandler, startHttpGateway } from "#local/stack/http-gateway.js";
import { makeLambdaContext } from "#local/stack/lambda-context.js";
import { toRecord } from "#local/stack/sqs-poller.js";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import {
  apiEnvSchema,
  certRefreshEnvSchema,
  exportEnvSchema,
  loadEnv,
  notifyEnvSchema,
  reconcileEnvSchema,
  sendApiEnvSchema,
  sendWorkerEnvSchema,
  sweeperEnvSchema,
} from "#shared/config/env.js";
import { ROUTES, type RouteTarget } from "#shared/edges/http/routes.js";
import { buildApiFunction } from "#shared/runtime/build-api-function.js";
import { buildCertRefreshFunction } from "#shared/runtime/build-cert-refresh-function.js";
import { buildExportFunction } from "#shared/runtime/build-export-function.js";
import { buildNotifyFunction } from "#shared/runtime/build-notify-function.js";
import { buildReconcileFunction } from "#shared/runtime/build-reconcile-function.js";
import { buildSendApiFunction } from "#shared/runtime/build-send-api-function.js";
import { buildSendWorkerFunction } from "#shared/runtime/build-send-worker-function.js";
import { buildSweeperFunction } from "#shared/runtime/build-sweeper-function.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import type { FunctionKind } from "../../../infra/constructs/wx-function.js";
import { type AwsCall, recordAwsCalls } from "../../helpers/aws-call-recorder.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";
import { setSimulatorFaults } from "../../helpers/simulator-control.js";
import { deliverNotification, signedNotification } from "../../helpers/wechat-notification.js";
import {
  actionsOf,
  buildTestApp,
  functionEnvironment,
  functionLogicalId,
  resourcesOf,
  resourcesOfType,
  roleStatements,
  type TestApp,
} from "../../infra/test-app.js";

/**
 * Every AWS call each function's real adapters make, recorded while the real handlers run against the local
 * stand-ins, checked against that function's role in the synthesized template: each call must be allowed on the
 * resource it names, and each data permission granted must be used by a call (or by the function's event source
 * mapping, which polls with the function's role). A grant that is missing is AccessDenied in AWS; one that is unused
 * is privilege nobody needs.
 */

const DATA_ACTION = /^(dynamodb|sqs|secretsmanager):/;

/**
 * What Lambda's SQS event source mapping calls with the function's role
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).
 */
const EVENT_SOURCE_MAPPING_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];

/** A resource of the stateful stack as it appears in the service template: `<logical id>[/index/<name>]`. */
function grantKey(built: TestApp, value: unknown): string {
  const text = JSON.stringify(value);
  const ids = Object.keys(built.statefulTemplate.toJSON().Resources)
    .filter((id) => text.includes(id))
    .sort((a, b) => b.length - a.length);
  if (ids.length === 0) return text;
  const index = /\/index\/([A-Za-z0-9_.-]+)/.exec(text)?.[1];
  return index ? `${ids[0]}/index/${index}` : ids[0]!;
}

interface Use {
  action: string;
  key: string;
  by: string;
}

/** Recorded calls of `kind` as (action, template resource key): the resource is found by the env var naming it. */
function usesOf(built: TestApp, kind: FunctionKind, calls: AwsCall[], runtime: Record<string, string>): Use[] {
  const env = functionEnvironment(built, kind);
  return calls
    .filter((c) => c.owner === kind)
    .map((call) => {
      // Only variables the template sets from a resource (a Ref, GetAtt or import): a literal such as the
      // Powertools service name may happen to equal a local resource's name.
      const variable = Object.keys(env).find(
        (name) => typeof env[name] !== "string" && runtime[name] === call.resource,
      );
      if (variable === undefined) throw new Error(`${kind}: ${call.action} on ${call.resource}, named by no env var`);
      const key = grantKey(built, env[variable]);
      return { action: call.action, key: call.index ? `${key}/index/${call.index}` : key, by: variable };
    });
}

/** The event source mapping's own calls, on the queue it polls. */
function mappingUsesOf(built: TestApp, kind: FunctionKind): Use[] {
  const id = functionLogicalId(built, kind);
  return resourcesOfType<{ FunctionName: unknown; EventSourceArn: unknown }>(
    built.serviceTemplate,
    "AWS::Lambda::EventSourceMapping",
  )
    .filter(([, m]) => JSON.stringify(m.Properties?.FunctionName).includes(id))
    .flatMap(([, m]) =>
      EVENT_SOURCE_MAPPING_ACTIONS.map((action) => ({
        action,
        key: grantKey(built, m.Properties!.EventSourceArn),
        by: "event source mapping",
      })),
    );
}

const matches = (pattern: string, action: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(action);

/** Data grants of `kind` as (action, key) pairs, from Allow statements. */
function grantsOf(built: TestApp, kind: FunctionKind): { action: string; key: string }[] {
  return roleStatements(built, kind)
    .filter((s) => s.Effect === "Allow")
    .flatMap((s) =>
      actionsOf(s)
        .filter((a) => DATA_ACTION.test(a))
        .flatMap((action) => resourcesOf(s).map((r) => ({ action, key: grantKey(built, r) }))),
    );
}

function checkFunction(built: TestApp, kind: FunctionKind, calls: AwsCall[], runtime: Record<string, string>) {
  const uses = [...usesOf(built, kind, calls, runtime), ...mappingUsesOf(built, kind)];
  const grants = grantsOf(built, kind);
  const denied = uses.filter((u) => !grants.some((g) => matches(g.action, u.action) && g.key === u.key));
  const unused = grants.filter((g) => !uses.some((u) => matches(g.action, u.action) && g.key === u.key));
  const show = (list: { action: string; key: string; by?: string }[]) =>
    [...new Set(list.map((x) => `${x.action} on ${x.key}${x.by ? ` (${x.by})` : ""}`))].sort();
  return { uses: show(uses), denied: show(denied), unused: show(unused) };
}

async function receiveAll(stack: LocalStack, queueUrl: string, atLeast: number): Promise<Message[]> {
  const messages: Message[] = [];
  for (let round = 0; round < 50 && messages.length < atLeast; round++) {
    const { Messages = [] } = await stack.emulators.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    messages.push(...Messages);
  }
  return messages;
}

const sqsEvent = (stack: LocalStack, messages: Message[], receiveCount?: number, arn?: string): SQSEvent => ({
  Records: messages.map((m) => {
    const record = toRecord(m, arn ?? stack.emulators.queues.send.arn, process.env.AWS_REGION ?? "us-east-1");
    if (receiveCount !== undefined) record.attributes.ApproximateReceiveCount = String(receiveCount);
    return record;
  }),
});

/** A gateway of our own over fresh function instances, each invocation attributed to its function. */
async function gatewayFor(
  recorder: ReturnType<typeof recordAwsCalls>,
  token: string,
  handlers: Record<RouteTarget, HttpLambdaHandler>,
): Promise<HttpGateway> {
  return startHttpGateway({
    routes: ROUTES.map((route) => ({
      method: route.method,
      path: route.path,
      handler: (event, context) => recorder.run(route.target, () => handlers[route.target](event, context)),
      auth: route.auth === "caller" ? "bearer" : "none",
    })),
    bearerToken: token,
    log: () => {},
  });
}

type Mode = "public_key" | "platform_certificate";

/**
 * The scenario: every kind of api route that touches state, the worker through a clean batch, WeChat failing (a
 * first receive backed off, a last receive re-enqueued) and a poison message, and a genuine notification delivered
 * twice; in platform-certificate mode, cert-refresh twice (the second run starts from the cached certificates); a
 * coupon used and refunded at WeChat, whose stock's flow files WeChat then serves, reconciled by the scheduled job
 * (reading both files, recording the refund) and requested again through the api.
 */
async function drive(mode: Mode, recorder: ReturnType<typeof recordAwsCalls>) {
  // The stack's own sweeper stays idle (an hour between runs): the sweeper is driven by hand, with a 1 s stall.
  const stack = await startTestStack({
    simulator: { mode },
    scheduleIntervalSeconds: { sweeper: 3_600, reconcile: 3_600, "cert-refresh": 3_600 },
    sweeperStallSeconds: 1,
  });
  // The stack's own poller would take our messages; the worker is driven by hand here. Its last long poll (2 s) was
  // aborted on the client side only: wait it out, or fauxqs hands our first messages to a closed connection.
  await stack.stopWorker();
  await stack.stopExports();
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  // The handlers run here, in this process, with the variables their hosts give them; signed with a key no
  // function owns, so the stand-ins' IAM check (which would refuse a missing grant first) leaves the record whole.
  const kinds: FunctionKind[] =
    mode === "platform_certificate"
      ? ["api", "send-api", "notify", "send-worker", "export", "reconcile", "sweeper", "cert-refresh"]
      : ["api", "send-api", "notify", "send-worker", "export", "reconcile", "sweeper"];
  const runtime: Record<string, string> = Object.assign({}, ...kinds.map((kind) => stack.functionEnvironment(kind)));
  Object.assign(process.env, runtime, { AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
  const api = buildApiFunction(loadEnv(apiEnvSchema));
  const sendApi = buildSendApiFunction(loadEnv(sendApiEnvSchema));
  const notify = buildNotifyFunction(loadEnv(notifyEnvSchema));
  const worker = buildSendWorkerFunction(loadEnv(sendWorkerEnvSchema));
  const sweeper = buildSweeperFunction(loadEnv(sweeperEnvSchema));
  const sweep = () =>
    recorder.run("sweeper", () => sweeper({}, makeLambdaContext({ functionName: "sweeper", timeoutMs: 60_000 })));
  const gateway = await gatewayFor(recorder, stack.token, {
    api: api as HttpLambdaHandler,
    "send-api": sendApi as HttpLambdaHandler,
    notify: notify as HttpLambdaHandler,
  });
  try {
    const local = { ...stack, apiUrl: gateway.url };
    const env = stack.emulators.env;

    if (mode === "platform_certificate") {
      const certRefresh = buildCertRefreshFunction(loadEnv(certRefreshEnvSchema));
      await recorder.run("cert-refresh", () => certRefresh());
      await recorder.run("cert-refresh", () => certRefresh());
    }

    const stockId = await runningStock(local, "grants-stock");
    await callApi(local, "GET", `/stocks/${stockId}`);
    const sent = await callApi<{ coupon_id: string }>(local, "POST", "/coupons", {
      stock_id: stockId,
      openid: "o-grants-1",
      out_request_no: "grants-send-1",
    });
    expect(sent.status).toBe(200);
    await callApi(local, "GET", "/users/o-grants-1/coupons");
    const campaign = await callApi<{ campaign_id: string }>(local, "POST", "/campaigns", {
      stock_id: stockId,
      openids: ["o-grants-a", "o-grants-b", "o-grants-c"],
    });
    expect(campaign.status).toBe(202);
    await callApi(local, "POST", "/campaigns", { campaign_id: "grants-chunked", stock_id: stockId, chunked: true });
    await callApi(local, "POST", "/campaigns/grants-chunked/chunks", { chunk_no: 0, openids: ["o-c1"], last: true });
    await callApi(local, "GET", "/callbacks");
    // A test send for the HTTP event consumers (the api's grant on the forwarder's queue).
    expect((await callApi(local, "POST", "/webhooks/test", {})).status).toBe(202);

    const clean = await receiveAll(stack, env.SEND_QUEUE_URL, 4);
    await recorder.run("send-worker", () => worker(sqsEvent(stack, clean)));
    await callApi(local, "GET", `/campaigns/${campaign.body.campaign_id}`);
    await callApi(local, "GET", `/campaigns/${campaign.body.campaign_id}/failures`);

    // An export: the api queues it; a first invocation with no time left hands it on (its own queue), the next
    // writes it, a third copy of the message finds it finished (the claim's condition fails: GetItem on dynalite).
    const exportQueue = stack.emulators.queues.exports;
    const started = await callApi<{ export_id: string }>(
      local,
      "POST",
      `/campaigns/${campaign.body.campaign_id}/exports`,
      { what: "coupons" },
    );
    expect(started.status).toBe(202);
    const exporter = buildExportFunction(loadEnv(exportEnvSchema));
    const withTime = (ms: number) => ({ getRemainingTimeInMillis: () => ms }) as Context;
    const [first] = await receiveAll(stack, exportQueue.url, 1);
    await recorder.run("export", () => exporter(sqsEvent(stack, [first!], 1, exportQueue.arn), withTime(0)));
    const [next] = await receiveAll(stack, exportQueue.url, 1);
    for (let i = 0; i < 2; i++) {
      await recorder.run("export", () => exporter(sqsEvent(stack, [next!], 1, exportQueue.arn), withTime(60_000)));
    }
    const done = await callApi<{ state: string }>(
      local,
      "GET",
      `/campaigns/${campaign.body.campaign_id}/exports/${started.body.export_id}`,
    );
    expect(done.body.state).toBe("COMPLETED");
    // A failures export pages the campaign's send records (gsi1), the coupons export its stock's coupons (gsi2).
    const failures = await callApi<{ export_id: string }>(
      local,
      "POST",
      `/campaigns/${campaign.body.campaign_id}/exports`,
      { what: "failures" },
    );
    expect(failures.status).toBe(202);
    const [failuresJob] = await receiveAll(stack, exportQueue.url, 1);
    await recorder.run("export", () => exporter(sqsEvent(stack, [failuresJob!], 1, exportQueue.arn), withTime(60_000)));
    expect(
      (
        await callApi<{ state: string }>(
          local,
          "GET",
          `/campaigns/${campaign.body.campaign_id}/exports/${failures.body.export_id}`,
        )
      ).body.state,
    ).toBe("COMPLETED");

    await callApi(local, "POST", "/campaigns", { stock_id: stockId, openids: ["o-grants-x", "o-grants-y"] });
    const failing = await receiveAll(stack, env.SEND_QUEUE_URL, 2);
    await setSimulatorFaults(stack, { error_rate: 1, kinds: ["500"] });
    try {
      await recorder.run("send-worker", () => worker(sqsEvent(stack, failing.slice(0, 1), 1)));
      await recorder.run("send-worker", () =>
        worker(sqsEvent(stack, failing.slice(1), Number(env.SEND_MAX_RECEIVE_COUNT))),
      );
      // A 429: the rate governor shares its cut through the table (its one PutItem).
      await setSimulatorFaults(stack, { error_rate: 1, kinds: ["429"] });
      await recorder.run("send-worker", () => worker(sqsEvent(stack, failing.slice(0, 1), 2)));
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await setSimulatorFaults(stack, { error_rate: 0 });
    }
    // The first campaign completed (retired from the list); the second stalled with a send backed off: queued again.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await sweep()).requeued).toBeGreaterThan(0);
    const poison = { ...failing[0]!, MessageId: "grants-poison", Body: "not a send message" };
    await recorder.run("send-worker", () => worker(sqsEvent(stack, [poison])));

    const config = stack.simulator.config;
    const signer =
      mode === "public_key" ? {} : { key: config.keys.platformPrivateKey, serial: config.platform_certificate_serial };
    const notification = signedNotification(stack, {
      id: "EV-grants-1",
      couponId: sent.body.coupon_id,
      stockId,
      ...signer,
    });
    for (let i = 0; i < 2; i++) expect((await deliverNotification(local, notification)).status).toBe(204);
    await callApi(local, "GET", `/coupons/${sent.body.coupon_id}/events`);

    // Reconciliation: a campaign coupon used and refunded at WeChat, then WeChat serves the stock's flow files.
    const reconcile = buildReconcileFunction(loadEnv(reconcileEnvSchema));
    const context = { getRemainingTimeInMillis: () => 300_000 };
    const issued = stack.simulator
      .ledger()
      .find((c) => c.out_request_no !== "grants-send-1" && c.stock_id === stockId)!;
    const simulator = (path: string, body: unknown) =>
      fetch(`${stack.simulatorUrl}/_simulator${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await simulator(`/coupons/${issued.coupon_id}/use`, {})).status).toBe(200);
    expect((await simulator(`/coupons/${issued.coupon_id}/refund`, {})).status).toBe(200);
    const stock = await callApi<{ available_end_time: string }>(local, "GET", `/stocks/${stockId}`);
    const availableAt = flowFilesAvailableAt(stock.body.available_end_time);
    expect((await simulator("/clock", { set: new Date(availableAt + 60_000).toISOString() })).status).toBe(200);
    await recorder.run("reconcile", () => reconcile({}, context));
    const requested = await callApi<{ reconciliation_id: string }>(local, "POST", "/reconciliations", {
      stock_id: stockId,
    });
    expect(requested.status).toBe(202);
    // The stack's own schedule may hold the run for a moment: invoke again until it is done.
    const runOf = () =>
      callApi<{ status: string }>(local, "GET", `/reconciliations/${requested.body.reconciliation_id}`);
    for (let i = 0; i < 20 && (await runOf()).body.status === "RUNNING"; i++) {
      await recorder.run("reconcile", () => reconcile({}, context));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const run = await runOf();
    expect(run.body.status, JSON.stringify(run.body)).toBe("COMPLETED");
    await callApi(local, "GET", `/reconciliations/${requested.body.reconciliation_id}/findings`);
    expect((await callApi<{ state: string }>(local, "GET", `/coupons/${issued.coupon_id}`)).body.state).toBe(
      "REFUNDED",
    );
    return runtime;
  } finally {
    await gateway.close();
    await stack.stop();
  }
}

describe.each(["public_key", "platform_certificate"] as const)(
  "each function's AWS calls against its role (%s)",
  (mode) => {
    let recorder: ReturnType<typeof recordAwsCalls>;
    let built: TestApp;
    let env: Record<string, string>;
    const kinds: FunctionKind[] = [
      "api",
      "send-api",
      "send-worker",
      "notify",
      "export",
      "reconcile",
      "sweeper",
      ...(mode === "platform_certificate" ? ["cert-refresh" as const] : []),
    ];

    beforeAll(async () => {
      recorder = recordAwsCalls();
      built = buildTestApp({ wechatpayMode: mode });
      env = await drive(mode, recorder);
    }, 120_000);
    afterAll(() => recorder?.restore());

    it.each(kinds)("%s: every call allowed, every grant used", (kind) => {
      const result = checkFunction(built, kind, recorder.calls, env);
      expect(result.uses.length, "no calls recorded").toBeGreaterThan(0);
      expect({ denied: result.denied, unused: result.unused }).toEqual({ denied: [], unused: [] });
    });

    it("drove the worker through every queue path: re-enqueue, back-off and dead-letter", () => {
      const worker = recorder.calls.filter((c) => c.owner === "send-worker" && c.action.startsWith("sqs:"));
      expect(worker.map((c) => `${c.action} ${c.resource}`)).toEqual(
        expect.arrayContaining([
          `sqs:SendMessage ${env.SEND_QUEUE_URL}`,
          `sqs:ChangeMessageVisibility ${env.SEND_QUEUE_URL}`,
          `sqs:SendMessage ${env.SEND_DLQ_URL}`,
        ]),
      );
    });
  },
);
