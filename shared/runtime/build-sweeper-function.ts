import type { Context } from "aws-lambda";
import { createDocumentClient } from "../adapters/dynamodb/document-client.js";
import { DynamoDbCampaignStore } from "../adapters/dynamodb/dynamodb-campaign-store.js";
import { DynamoDbSendLedger } from "../adapters/dynamodb/dynamodb-send-ledger.js";
import { createSqsClient } from "../adapters/sqs/sqs-client.js";
import { SqsSendQueue } from "../adapters/sqs/sqs-send-queue.js";
import type { SweeperEnv } from "../config/env.js";
import { type SweepReport, sweepCampaigns } from "../domain/campaigns/sweep-campaigns.js";
import { logger } from "../observability/logger.js";

/** Ledger records per page: ~0.5 MB of items, inside DynamoDB's 1 MB per Query. */
const PAGE_SIZE = 1_000;
/** Share of the invocation's time the run may spend starting pages; the rest is margin for the page in flight. */
const TIME_SHARE = 0.5;

/**
 * Composition root of the sweeper (scheduled every minute, infra/stacks/service-stack.ts; the local stack runs the
 * same schedule): campaigns finish from their durable send records, with bounded work per run.
 */
export function buildSweeperFunction(env: SweeperEnv) {
  const table = { doc: createDocumentClient(), tableName: env.TABLE_NAME };
  const deps = {
    campaigns: new DynamoDbCampaignStore(table),
    ledger: new DynamoDbSendLedger(table),
    queue: new SqsSendQueue({ client: createSqsClient(), queueUrl: env.SEND_QUEUE_URL }),
    clock: Date.now,
  };
  return async (_event: unknown, context: Context): Promise<SweepReport> => {
    const report = await sweepCampaigns(deps, {
      stallMs: env.SWEEPER_STALL_SECONDS * 1000,
      recordsPerRun: env.SWEEPER_RECORDS_PER_RUN,
      timeBudgetMs: context.getRemainingTimeInMillis() * TIME_SHARE,
      pageSize: PAGE_SIZE,
      campaignsPerRun: 1_000,
    });
    if (report.requeued > 0 || report.cancelled > 0 || report.completed.length > 0 || report.budgetSpent) {
      logger.info("sweep", { ...report });
    }
    return report;
  };
}
