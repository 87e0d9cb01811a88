import { type DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { getItem } from "#shared/adapters/dynamodb/conditional.js";
import { KEY } from "#shared/adapters/dynamodb/table-definition.js";
import type { SendMessage, SendQueue } from "#shared/domain/ports.js";

/**
 * Puts a message on the send queue for every PENDING send record in the table. The local SQS stand-in (fauxqs)
 * keeps its queues in memory, so after a restart with a kept data directory the table remembers sends whose
 * messages are gone. Re-sending a message for a send that is in flight is harmless: the worker's lease and
 * WeChat's de-duplication on out_request_no make it a replay. A Scan is fine locally; AWS never needs this (SQS is
 * durable there).
 */
export async function requeuePendingSends(
  doc: DynamoDBDocumentClient,
  tableName: string,
  queue: SendQueue,
): Promise<number> {
  const messages: SendMessage[] = [];
  const rates = new Map<string, number | undefined>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: "begins_with(pk, :send) AND #state = :pending",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: { ":send": "SEND#", ":pending": "PENDING" },
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of page.Items ?? []) {
      const campaignId = typeof item.campaign_id === "string" ? item.campaign_id : undefined;
      const message: SendMessage = {
        mchid: String(item.mchid),
        outRequestNo: String(item.out_request_no),
        stockId: String(item.stock_id),
        openid: String(item.openid),
        appid: String(item.appid),
      };
      if (campaignId !== undefined) {
        message.campaignId = campaignId;
        if (!rates.has(campaignId)) {
          const campaign = await getItem(doc, tableName, KEY.campaign(campaignId));
          rates.set(campaignId, typeof campaign?.rate_per_second === "number" ? campaign.rate_per_second : undefined);
        }
        const rate = rates.get(campaignId);
        if (rate !== undefined) message.ratePerSecond = rate;
      }
      messages.push(message);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  if (messages.length > 0) await queue.enqueue(messages);
  return messages.length;
}
