import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "#local/stack/start-local-stack.js";
import { main } from "#shared/cli/main.js";
import { callApi, runningStock, startTestStack } from "../../helpers/local-stack-client.js";

let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "wxcoupon-tail-"));
  stack = await startTestStack({ dataDir });
}, 60_000);
afterAll(async () => stack?.stop());

describe("wxcoupon events tail (local stack)", () => {
  it("streams events as they are published, through a temporary rule and queue it removes when it stops", async () => {
    const stockId = await runningStock(stack, "it-tail-stock");
    const rulesBefore = stack.events.bus.rules.length;
    const out: string[] = [];
    const err: string[] = [];
    const tail = main(
      [
        "events",
        "tail",
        "--stack-json",
        join(dataDir, "stack.json"),
        "--json",
        "--count",
        "1",
        "--detail-type",
        "coupon.sent",
      ],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    await expect.poll(() => stack.events.bus.rules.length, { timeout: 10_000 }).toBe(rulesBefore + 1);
    const sent = await callApi<{ coupon_id: string }>(stack, "POST", "/coupons", {
      stock_id: stockId,
      openid: "o-tail",
      out_request_no: "it-tail-1",
    });
    expect(await tail).toBe(0);
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]!)).toMatchObject({
      "detail-type": "coupon.sent",
      detail: { coupon_id: sent.body.coupon_id, openid: "o-tail" },
    });
    expect(stack.events.bus.rules).toHaveLength(rulesBefore);
    const queues = await stack.emulators.sqs.send(new ListQueuesCommand({ QueueNamePrefix: "wxcoupon-tail-" }));
    expect(queues.QueueUrls ?? []).toEqual([]);
    expect(err.join("\n")).toContain("tailing wxcoupon-local");
  }, 60_000);

  it("refuses bad arguments with usage (exit 2)", async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l) };
    expect(await main(["events", "follow"], io)).toBe(2);
    expect(await main(["events", "tail", "--bus", "b"], io)).toBe(2);
    expect(await main(["events", "tail", "--count", "0", "--bus", "b", "--region", "r"], io)).toBe(2);
    expect(err.join("\n")).toContain("usage: wxcoupon events tail");
  });
});
