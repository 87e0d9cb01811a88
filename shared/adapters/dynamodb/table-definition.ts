import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * The single table, described once. The local stack creates it from `createTableInput`; the CDK stateful stack maps
 * `TABLE_SPEC` onto `dynamodb.Table` (string keys → `AttributeType.STRING`, PAY_PER_REQUEST, PITR on, TTL attribute).
 *
 * Items (pk → contents):
 * - `SEND#{mchid}#{out_request_no}`      send record; in gsi1 under `CAMPAIGN#{id}#SENDS` when it belongs to a campaign
 * - `STOCK_REQ#{mchid}#{out_request_no}` idempotent create-stock record
 * - `CAMPAIGN#{id}`                      campaign with atomic counters and its control (RUNNING, PAUSED, CANCELLED);
 *                                        gsi1 `CAMPAIGNS#{mchid}`, sort key created_at + id (the campaign list);
 *                                        a retry's `retry_of` and `retry_fill`, a parent's `retries` list
 * - `CAMPAIGN#{id}#ACTIVE`               the campaign is on the sweeper's list until COMPLETED: gsi1 `CAMPAIGNS_ACTIVE`,
 *                                        sort key created_at + id; retired by removing its gsi1 keys (then TTL)
 * - `CAMPAIGN#{id}#CHUNK#{n}`            one chunk of a chunked campaign (openids hash, count, counted/enqueued flags)
 * - `CAMPAIGN#{id}#USES`                  the campaign's use totals (used, amount, uses by day, time-to-use histogram)
 * - `COUPON#{coupon_id}`                 the coupon's lifecycle (SENT/USED/REFUNDED/EXPIRED, history); gsi1
 *                                        `CAMPAIGN#{id}#COUPONS`, sort key state + time + coupon id (the campaign's
 *                                        coupons); gsi2 `STOCK#{stock_id}#COUPONS`, sort key coupon id, once this
 *                                        service issued it (a reconciliation run's expiry phase pages through it)
 * - `STOCK#{stock_id}`                   a stock this service issued coupons of (available_end_time, reconciliation);
 *                                        gsi1 `RECONCILE#PENDING` until the reconciliation job has run it
 * - `RECON#{id}`                         a reconciliation run (status, phase, row checkpoint, counts); gsi1
 *                                        `RECON#RUNNING` while it runs
 * - `RECON#{id}#F#{flow}#{coupon}#{tx}`  one finding of a run; gsi1 `RECON#{id}#FINDINGS`, sort key kind + coupon + tx
 * - `NOTIFY#{id}`                        de-duplicated notification + stored event; gsi1 `COUPON#{coupon_id}`; TTL
 * - `CERT#{serial}`                      platform certificate cache; gsi1 `CERTS`; TTL at the certificate's expiry
 * - `RATE#{scope}#{epoch_second}`        shared per-second send counter of the rate governor; TTL 2 minutes
 * - `EXPORT#{export_id}`                 a CSV export (state, lease, multipart checkpoint, figures); TTL 8 days
 * - `CAMPAIGN#{id}#EXPORT#{what}`        the campaign's current export of coupons or failures; TTL 8 days
 */
export const TABLE_SPEC = {
  partitionKey: { name: "pk", type: "S" },
  billingMode: "PAY_PER_REQUEST",
  pointInTimeRecovery: true,
  timeToLiveAttribute: "expires_at",
  globalSecondaryIndexes: [
    {
      indexName: "gsi1",
      partitionKey: { name: "gsi1pk", type: "S" },
      sortKey: { name: "gsi1sk", type: "S" },
      // ALL: the readers (reconciliation, coupon history) want whole records and would otherwise fetch each one.
      projection: "ALL",
    },
    {
      indexName: "gsi2",
      partitionKey: { name: "gsi2pk", type: "S" },
      sortKey: { name: "gsi2sk", type: "S" },
      // KEYS_ONLY: its one reader (the expiry phase) reads each page's coupons strongly consistently anyway, and
      // written once per coupon (its keys never change), a state change costs this index nothing.
      projection: "KEYS_ONLY",
    },
  ],
} as const;

export const GSI1 = TABLE_SPEC.globalSecondaryIndexes[0].indexName;
export const GSI2 = TABLE_SPEC.globalSecondaryIndexes[1].indexName;
export const TTL_ATTRIBUTE = TABLE_SPEC.timeToLiveAttribute;

/** Item key prefixes (single-table design). */
export const KEY = {
  send: (mchid: string, outRequestNo: string) => `SEND#${mchid}#${outRequestNo}`,
  stockRequest: (mchid: string, outRequestNo: string) => `STOCK_REQ#${mchid}#${outRequestNo}`,
  campaign: (id: string) => `CAMPAIGN#${id}`,
  campaignSends: (id: string) => `CAMPAIGN#${id}#SENDS`,
  activeCampaign: (id: string) => `CAMPAIGN#${id}#ACTIVE`,
  campaignChunk: (id: string, chunkNo: number) => `CAMPAIGN#${id}#CHUNK#${chunkNo}`,
  campaignUses: (id: string) => `CAMPAIGN#${id}#USES`,
  coupon: (couponId: string) => `COUPON#${couponId}`,
  stockCoupons: (stockId: string) => `STOCK#${stockId}#COUPONS`,
  reconcileStock: (stockId: string) => `STOCK#${stockId}`,
  reconcilePending: () => "RECONCILE#PENDING",
  reconciliation: (id: string) => `RECON#${id}`,
  reconciliationsRunning: () => "RECON#RUNNING",
  reconciliationFindings: (id: string) => `RECON#${id}#FINDINGS`,
  notification: (id: string) => `NOTIFY#${id}`,
  couponNotifications: (couponId: string) => `COUPON#${couponId}`,
  certificate: (serial: string) => `CERT#${serial}`,
  certificates: () => "CERTS",
  rate: (scope: string, epochSecond: number) => `RATE#${scope}#${epochSecond}`,
  rateSignal: (scope: string) => `RATE#${scope}#SIGNAL`,
  export: (exportId: string) => `EXPORT#${exportId}`,
  campaignExport: (campaignId: string, what: string) => `CAMPAIGN#${campaignId}#EXPORT#${what}`,
} as const;

/** CreateTable input for the SDK (local stack, tests). TTL needs a separate UpdateTimeToLive call (see below). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const gsis = TABLE_SPEC.globalSecondaryIndexes;
  const attributeNames = new Map<string, "S">([[TABLE_SPEC.partitionKey.name, TABLE_SPEC.partitionKey.type]]);
  for (const gsi of gsis) {
    attributeNames.set(gsi.partitionKey.name, gsi.partitionKey.type);
    attributeNames.set(gsi.sortKey.name, gsi.sortKey.type);
  }
  return {
    TableName: tableName,
    BillingMode: TABLE_SPEC.billingMode,
    AttributeDefinitions: [...attributeNames].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    KeySchema: [{ AttributeName: TABLE_SPEC.partitionKey.name, KeyType: "HASH" }],
    GlobalSecondaryIndexes: gsis.map((gsi) => ({
      IndexName: gsi.indexName,
      KeySchema: [
        { AttributeName: gsi.partitionKey.name, KeyType: "HASH" },
        { AttributeName: gsi.sortKey.name, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: gsi.projection },
    })),
  };
}
