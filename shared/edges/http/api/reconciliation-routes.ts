import { csvField } from "../../../domain/exports/export-csv.js";
import type { ReconciliationFinding, ReconciliationRecord } from "../../../domain/ports.js";
import { requestReconciliation } from "../../../domain/reconciliation/reconciliation-job.js";
import type { RouteTable } from "../api-handler.js";
import { HttpError } from "../http-error.js";
import { jsonBody, pathParams, queryParams } from "../request.js";
import type { ReconciliationFindingsResponse, ReconciliationResponse } from "../response-schemas.js";
import { json } from "../responses.js";
import { createReconciliationBody, reconciliationFindingsQuery, reconciliationIdPath } from "../schemas.js";
import type { ApiServices } from "./services.js";

/**
 * Reconciliation with WeChat's flow files (shared/domain/reconciliation/*): a run requested here is advanced by the
 * reconcile function's next scheduled invocation, so the request answers 202 with the run's id at once.
 */
export function reconciliationRoutes(services: ApiServices): RouteTable {
  const { runs, newId } = services.reconciliations;
  const clock = services.campaigns.clock;
  const find = async (id: string): Promise<ReconciliationRecord> => {
    const run = await runs.get(id);
    if (run === undefined) {
      throw new HttpError(404, "RECONCILIATION_NOT_FOUND", `no reconciliation ${id}`, "reconciliation_id");
    }
    return run;
  };
  return {
    "POST /reconciliations": async (event) => {
      const { stock_id } = jsonBody(event, createReconciliationBody);
      const run = await requestReconciliation({ runs, clock, newId, stockEnd: services.stockEnd }, stock_id);
      return json(202, reconciliationView(run), { location: `/reconciliations/${run.id}` });
    },

    "GET /reconciliations/{reconciliation_id}": async (event) => {
      const { reconciliation_id } = pathParams(event, reconciliationIdPath);
      return json(200, reconciliationView(await find(reconciliation_id)));
    },

    "GET /reconciliations/{reconciliation_id}/findings": async (event) => {
      const { reconciliation_id } = pathParams(event, reconciliationIdPath);
      const query = queryParams(event, reconciliationFindingsQuery);
      await find(reconciliation_id);
      const page = await runs.listFindings(reconciliation_id, {
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      const answer: ReconciliationFindingsResponse = {
        data: page.items.map(findingView),
        ...(page.cursor ? { cursor: page.cursor } : {}),
      };
      return json(200, answer);
    },

    "GET /reconciliations/{reconciliation_id}/findings.csv": async (event) => {
      const { reconciliation_id } = pathParams(event, reconciliationIdPath);
      const query = queryParams(event, reconciliationFindingsQuery);
      await find(reconciliation_id);
      const page = await runs.listFindings(reconciliation_id, {
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
      });
      const lines = [CSV_COLUMNS.join(",")];
      for (const f of page.items) {
        const view = findingView(f);
        lines.push(CSV_COLUMNS.map((column) => csvField(view[column])).join(","));
      }
      return {
        statusCode: 200,
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="reconciliation-${reconciliation_id}-findings.csv"`,
          ...(page.cursor ? { "x-next-cursor": page.cursor } : {}),
        },
        body: `${lines.join("\r\n")}\r\n`,
      };
    },
  };
}

const CSV_COLUMNS = [
  "kind",
  "flow",
  "coupon_id",
  "stock_id",
  "transaction_id",
  "at",
  "amount",
  "refund_id",
  "campaign_id",
] as const;

const iso = (ms: number) => new Date(ms).toISOString();

export function reconciliationView(run: ReconciliationRecord): ReconciliationResponse {
  return {
    reconciliation_id: run.id,
    stock_id: run.stockId,
    trigger: run.trigger,
    status: run.status,
    phase: run.phase,
    rows_read: { use: run.counts.use_rows, refund: run.counts.refund_rows },
    findings: {
      use_recovered: run.counts.use_recovered,
      refund_recorded: run.counts.refund_recorded,
      not_issued: run.counts.not_issued,
    },
    expired: run.counts.expired,
    available_end_time: iso(run.availableEndTime),
    flows_available_at: iso(run.availableAt),
    failures: run.failures,
    ...(run.lastError ? { last_error: run.lastError } : {}),
    created_at: iso(run.createdAt),
    ...(run.completedAt === undefined ? {} : { completed_at: iso(run.completedAt) }),
  };
}

function findingView(f: ReconciliationFinding): ReconciliationFindingsResponse["data"][number] {
  return {
    kind: f.kind,
    flow: f.flow,
    coupon_id: f.couponId,
    stock_id: f.stockId,
    transaction_id: f.transactionId,
    at: f.at,
    amount: f.amount,
    ...(f.refundId === undefined ? {} : { refund_id: f.refundId }),
    ...(f.campaignId === undefined ? {} : { campaign_id: f.campaignId }),
  };
}
