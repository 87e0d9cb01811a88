import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { SendMessage, SendQueue } from "#shared/domain/ports.js";

export interface QueueHarness {
  queue: SendQueue;
  /** Everything that reached the queue so far, in any order (waits for `count`). */
  received(count: number): Promise<SendMessage[]>;
}

const message = (i: number, extra: Partial<SendMessage> = {}): SendMessage => ({
  mchid: "1900000109",
  outRequestNo: `out-${i}-${randomUUID().slice(0, 8)}`,
  stockId: "9856000",
  openid: `openid-${i}`,
  appid: "wx233544546545989",
  ...extra,
});

const byKey = (a: SendMessage, b: SendMessage) => a.outRequestNo.localeCompare(b.outRequestNo);

export function sendQueueContract(backend: string, makeHarness: () => Promise<QueueHarness>) {
  describe(`SendQueue contract (${backend})`, () => {
    it("enqueues every message of a list longer than one batch, fields intact", async () => {
      const { queue, received } = await makeHarness();
      const messages = Array.from({ length: 25 }, (_, i) =>
        message(i, i % 2 === 0 ? { campaignId: "camp-1", ratePerSecond: 40 } : {}),
      );
      await queue.enqueue(messages);
      const got = await received(25);
      expect(got.sort(byKey)).toEqual([...messages].sort(byKey));
    });

    it("accepts an empty list", async () => {
      const { queue, received } = await makeHarness();
      await queue.enqueue([]);
      expect(await received(0)).toEqual([]);
    });
  });
}
