import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { DynamoDbCouponStore } from "#shared/adapters/dynamodb/dynamodb-coupon-store.js";
import type { DynamoBackend } from "../../helpers/dynamodb-backends.js";
import { issue, use } from "./coupon-store-contract.js";

const T0 = Date.parse("2026-12-01T02:00:00.000Z");
const LEASE = 60_000;

/**
 * The DynamoDB adapter counts a use with four single-item writes (no transactions in dynalite): what a caller that
 * died between them leaves behind must be finished by the next caller, never counted twice.
 */
export function dynamoCouponCountChecks(getBackend: () => DynamoBackend) {
  describe("DynamoDB coupon counting after a crash", () => {
    const setup = async () => {
      const { doc, tableName } = getBackend();
      const store = new DynamoDbCouponStore({ doc, tableName });
      const sent = issue();
      await store.recordIssued(sent, T0);
      await store.recordUse(use(sent.couponId, { amount: 500 }), T0);
      const update = (pk: string, expression: string, values: Record<string, unknown>) =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk },
            UpdateExpression: expression,
            ExpressionAttributeValues: values,
          }),
        );
      const totalsItem = async () =>
        (
          await doc.send(
            new GetCommand({
              TableName: tableName,
              Key: { pk: `CAMPAIGN#${sent.campaignId}#USES` },
              ConsistentRead: true,
            }),
          )
        ).Item;
      return { store, sent, update, totalsItem };
    };

    it("finishes, without counting again, a count whose caller died after adding to the totals", async () => {
      const { store, sent, update, totalsItem } = await setup();
      // Steps (1) and (2) of a caller whose lease has since expired: the lease, the totals and the token.
      await update(`COUPON#${sent.couponId}`, "SET count_lease = :until", { ":until": T0 + LEASE });
      await update(`CAMPAIGN#${sent.campaignId}#USES`, "ADD used :one, used_amount :amount, counting :token", {
        ":one": 1,
        ":amount": 500,
        ":token": new Set([sent.couponId]),
      });
      expect(await store.countUse(sent.couponId, T0 + 1, LEASE)).toBe("busy");
      expect(await store.countUse(sent.couponId, T0 + LEASE, LEASE)).toBe("counted");
      const totals = await store.campaignUses(sent.campaignId!);
      expect(totals).toMatchObject({ used: 1, usedAmount: 500 });
      expect((await totalsItem())?.counting).toBeUndefined();
      expect((await store.get(sent.couponId))?.counted).toBe(true);
      expect(await store.countUse(sent.couponId, T0 + 2 * LEASE, LEASE)).toBe("already");
    });

    it("counts a use whose caller died after taking the lease, once the lease has expired", async () => {
      const { store, sent, update } = await setup();
      await update(`COUPON#${sent.couponId}`, "SET count_lease = :until", { ":until": T0 + LEASE });
      expect(await store.countUse(sent.couponId, T0 + LEASE + 1, LEASE)).toBe("counted");
      expect((await store.campaignUses(sent.campaignId!)).used).toBe(1);
    });
  });
}
