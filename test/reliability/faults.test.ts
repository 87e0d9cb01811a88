import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import {
  auditCampaign,
  auditFaults,
  type CampaignAudit,
  HEALTHY_AUDIT,
  waitForCampaign,
} from "../helpers/campaign-audit.js";
import { type DynamoDbFaultProxy, type StoreFaults, startDynamoDbFaultProxy } from "../helpers/dynamodb-fault-proxy.js";
import { type ApiResponse, callApi, runningStock } from "../helpers/local-stack-client.js";
import { couponsPerKey, duplicateCoupons, setSimulatorFaults } from "../helpers/simulator-control.js";
import { killWorkerProcess, spawnWorkerProcess } from "../helpers/worker-process.js";
import { campaignTimeoutMs, SIZES } from "./support/scale.js";
import { itLeaksNoSecret, useReliabilityStack } from "./support/stack.js";
import { record } from "./support/tally.js";

const GROUP = "Faults";
let proxy: DynamoDbFaultProxy | undefined;
const env = useReliabilityStack(
  {
    wechatTimeoutMs: 1_000,
    workerConcurrency: 4,
    sendVisibilityTimeoutSeconds: 5,
    dynamodbEndpointWrapper: async (endpoint) => {
      proxy = await startDynamoDbFaultProxy(endpoint);
      return proxy.url;
    },
  },
  async () => proxy?.close(),
);
let stockId: string;

beforeAll(async () => {
  stockId = await runningStock(env.stack, "rel-faults-stock", { maxCoupons: 1_000_000 });
}, 60_000);

const openids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const faultsInjected = () => env.stack.simulator.stats().faults_injected;

/** POST /campaigns as a client would: retried with the same body while the service answers 5xx. */
async function postCampaign(body: Record<string, unknown>): Promise<{ id: string; fiveXx: number }> {
  let fiveXx = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const posted = await callApi<{ campaign_id: string }>(env.stack, "POST", "/campaigns", body);
    if (posted.status === 202) return { id: posted.body.campaign_id, fiveXx };
    if (posted.status < 500) throw new Error(`POST /campaigns: ${posted.status} ${JSON.stringify(posted.body)}`);
    fiveXx++;
    await sleep(200);
  }
  throw new Error("POST /campaigns kept failing");
}

function recordAudit(context: Parameters<typeof record>[0], audit: CampaignAudit, faults: number, notes: string[]) {
  record(context, {
    group: GROUP,
    cases: audit.view.total,
    faults,
    duplicates: audit.duplicates,
    lost: audit.unfinished + audit.sentWithoutCoupon + audit.failedWithCoupon,
    notes: [
      `sent ${audit.view.sent}, failed ${audit.view.failed} ${JSON.stringify(audit.view.failures_by_code)}`,
      ...notes,
    ],
  });
}

describe("faults: every recipient ends SENT or FAILED with a reason, once, and the counters equal WeChat's ledger", () => {
  const wechatCases = [0.2, 0.5].flatMap((rate) =>
    (["500", "429", "timeout"] as const).map((kind) => ({ rate, kind })),
  );
  it.for(wechatCases)(
    "WeChat answers $kind to $rate of the calls (before and after the change)",
    { timeout: 300_000 },
    async ({ rate, kind }, context) => {
      const { stack } = env;
      const recipients = openids(`o-wx-${kind}-${rate * 100}`, SIZES.faultRecipients);
      const before = faultsInjected();
      await setSimulatorFaults(stack, { error_rate: rate, kinds: [kind], phase: "mix", timeout_ms: 1_500 });
      let audit: CampaignAudit;
      try {
        const { id } = await postCampaign({ stock_id: stockId, openids: recipients, rate_per_second: 300 });
        const view = await waitForCampaign(stack, id, campaignTimeoutMs(recipients.length, 10));
        audit = await auditCampaign(stack, view, recipients);
      } finally {
        await setSimulatorFaults(stack, { error_rate: 0 });
      }
      recordAudit(context, audit, faultsInjected() - before, []);
      expect(auditFaults(audit), audit.problems.join("\n")).toEqual(HEALTHY_AUDIT);
      expect(audit.view.total).toBe(recipients.length);
    },
  );

  /** `outages`: windows of 1.5 s in which EVERY write fails (more than the SDK's own retries absorb). */
  const storeCases: (StoreFaults & { name: string; outages?: number })[] = [
    { name: "answers 500 to 20% of the writes", rate: 0.2, phase: "mix", mode: "500" },
    { name: "cuts the connection on 10% of the writes", rate: 0.1, phase: "mix", mode: "reset" },
    { name: "fails every write for 1.5 s, twice, and 5% between", rate: 0.05, phase: "mix", mode: "500", outages: 2 },
  ];
  it.for(storeCases)(
    "the store $name (before or after applying them)",
    { timeout: 300_000 },
    async ({ name: _name, outages = 0, ...faults }, context) => {
      const { stack } = env;
      const p = proxy!;
      const tag = `${faults.mode}-${faults.rate * 100}-${outages}`;
      const recipients = openids(`o-store-${tag}`, SIZES.storeFaultRecipients);
      const syncKeys = openids(`rel-store-${tag}`, SIZES.storeFaultSyncSends);
      const injectedBefore = p.stats.injected;
      const wechatFaultsBefore = faultsInjected();
      let syncFiveXx = 0;
      let campaignFiveXx = 0;
      const answers = new Map<string, ApiResponse<{ coupon_id?: string; code?: string }>>();
      const send = (key: string, i: number) =>
        callApi<{ coupon_id?: string; code?: string }>(stack, "POST", "/coupons", {
          stock_id: stockId,
          openid: `o-store-sync-${tag}-${i}`,
          out_request_no: key,
        });
      p.setFaults(faults);
      let outageWindows: Promise<void> = Promise.resolve();
      let audit: CampaignAudit;
      try {
        outageWindows = (async () => {
          for (let k = 0; k < outages; k++) {
            await sleep(k === 0 ? 100 : 500 + Math.random() * 1_000);
            p.setFaults({ ...faults, rate: 1 });
            await sleep(1_500);
            p.setFaults(faults);
          }
        })();
        // Synchronous sends through the same faults, ten at a time, while the campaign is posted and runs.
        const syncSends = (async () => {
          for (let i = 0; i < syncKeys.length; i += 10) {
            await Promise.all(
              syncKeys.slice(i, i + 10).map(async (key, j) => {
                const answer = await send(key, i + j);
                if (answer.status >= 500) syncFiveXx++;
                answers.set(key, answer);
              }),
            );
          }
        })();
        const [{ id, fiveXx }] = await Promise.all([
          postCampaign({ stock_id: stockId, openids: recipients, rate_per_second: 300 }),
          syncSends,
        ]);
        campaignFiveXx = fiveXx;
        await outageWindows;
        const view = await waitForCampaign(stack, id, campaignTimeoutMs(recipients.length, 10));
        p.setFaults({ rate: 0 });
        audit = await auditCampaign(stack, view, recipients);
      } finally {
        await outageWindows;
        p.setFaults({ rate: 0 });
      }
      // A client retries every send that did not answer 200, with the same out_request_no, until it does.
      const unresolved: string[] = [];
      for (const [i, key] of syncKeys.entries()) {
        for (let attempt = 0; attempt < 10 && answers.get(key)?.status !== 200; attempt++) {
          if (attempt > 0) await sleep(1_000);
          answers.set(key, await send(key, i));
        }
        if (answers.get(key)?.status !== 200) unresolved.push(`${key}: ${JSON.stringify(answers.get(key)?.body)}`);
      }
      const counts = couponsPerKey(stack, syncKeys);
      const mismatched = syncKeys.filter(
        (key) =>
          stack.simulator.ledger().find((c) => c.out_request_no === key)?.coupon_id !==
          answers.get(key)?.body.coupon_id,
      );
      record(context, {
        group: GROUP,
        cases: syncKeys.length,
        duplicates: duplicateCoupons(counts),
        lost: unresolved.length + mismatched.length,
      });
      recordAudit(context, audit, p.stats.injected - injectedBefore + faultsInjected() - wechatFaultsBefore, [
        `5xx answered under store faults (expected, retried by the client): POST /campaigns ${campaignFiveXx}, POST /coupons ${syncFiveXx}`,
      ]);
      expect(p.stats.injected - injectedBefore).toBeGreaterThan(0);
      expect(auditFaults(audit), audit.problems.join("\n")).toEqual(HEALTHY_AUDIT);
      expect(unresolved).toEqual([]);
      expect(mismatched).toEqual([]);
      expect(duplicateCoupons(counts)).toBe(0);
      expect(counts.size).toBe(syncKeys.length);
    },
  );

  it("finishes a campaign whose worker process is SIGKILLed at random points and restarted", async (context) => {
    const { stack } = env;
    const recipients = openids("o-killed", SIZES.killRecipients);
    await stack.stopWorker();
    const spawn = () => spawnWorkerProcess(stack, { onOutput: (s) => env.capture.follow(s) });
    let worker: ChildProcess | undefined;
    let kills = 0;
    let audit: CampaignAudit;
    try {
      const { id } = await postCampaign({ stock_id: stockId, openids: recipients, rate_per_second: 300 });
      worker = await spawn();
      for (let k = 0; k < SIZES.workerKills; k++) {
        await sleep(100 + Math.random() * 1_400);
        await killWorkerProcess(worker);
        kills++;
        worker = await spawn();
      }
      const view = await waitForCampaign(stack, id, campaignTimeoutMs(recipients.length, 20));
      audit = await auditCampaign(stack, view, recipients);
    } finally {
      if (worker) await killWorkerProcess(worker);
      await stack.restartWorker();
    }
    recordAudit(context, audit, kills, [`${kills} SIGKILLs`]);
    expect(auditFaults(audit), audit.problems.join("\n")).toEqual(HEALTHY_AUDIT);
    expect(audit.view).toMatchObject({ total: recipients.length, sent: recipients.length, failed: 0 });
  }, 600_000);
});

itLeaksNoSecret(env);
