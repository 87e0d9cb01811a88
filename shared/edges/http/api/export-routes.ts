import { NotFoundError } from "../../../domain/errors.js";
import {
  EXPORT_LINK_SECONDS,
  exportFilename,
  type StartExportDependencies,
  startExport,
} from "../../../domain/exports/start-export.js";
import type { ExportRecord } from "../../../domain/ports.js";
import type { RouteTable } from "../api-handler.js";
import { HttpError } from "../http-error.js";
import { jsonBody, pathParams } from "../request.js";
import type { CampaignExportResponse } from "../response-schemas.js";
import { json } from "../responses.js";
import { campaignExportPath, campaignIdPath, createExportBody } from "../schemas.js";
import type { ApiServices } from "./services.js";

/** CSV exports of a campaign's coupons or failures: started here, written by the export function. */
export function exportRoutes(services: ApiServices): RouteTable {
  const clock = services.campaigns.clock;
  const deps: StartExportDependencies = {
    exports: services.exports.store,
    queue: services.exports.queue,
    campaigns: services.campaigns.campaigns,
    stockEnd: services.stockEnd,
    clock,
  };
  const view = async (r: ExportRecord, replayed?: boolean): Promise<CampaignExportResponse> => {
    const now = clock();
    const link =
      r.state === "COMPLETED"
        ? {
            download_url: await services.exports.links.downloadUrl(r.objectKey, EXPORT_LINK_SECONDS, exportFilename(r)),
            download_expires_at: new Date(now + EXPORT_LINK_SECONDS * 1000).toISOString(),
          }
        : {};
    return {
      export_id: r.exportId,
      campaign_id: r.campaignId,
      what: r.what,
      state: r.state,
      ...(replayed === undefined ? {} : { replayed }),
      rows_written: r.rows ?? r.checkpoint?.rows ?? 0,
      ...(r.bytes === undefined ? {} : { bytes: r.bytes }),
      invocations: r.invocations,
      ...link,
      ...(r.error === undefined ? {} : { error: r.error }),
      created_at: new Date(r.createdAt).toISOString(),
      updated_at: new Date(r.updatedAt).toISOString(),
      ...(r.completedAt === undefined ? {} : { completed_at: new Date(r.completedAt).toISOString() }),
    };
  };

  return {
    "POST /campaigns/{campaign_id}/exports": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const { what } = jsonBody(event, createExportBody);
      try {
        const { record, created } = await startExport(deps, campaign_id, what);
        return json(202, await view(record, !created));
      } catch (error) {
        if (error instanceof NotFoundError && error.field === "campaign_id") {
          throw new HttpError(404, "CAMPAIGN_NOT_FOUND", `no campaign ${campaign_id}`, "campaign_id");
        }
        throw error;
      }
    },

    "GET /campaigns/{campaign_id}/exports/{export_id}": async (event) => {
      const { campaign_id, export_id } = pathParams(event, campaignExportPath);
      const record = await services.exports.store.get(export_id);
      // An export of another campaign is not this campaign's: the same 404 as a missing one.
      if (record === undefined || record.campaignId !== campaign_id) {
        throw new HttpError(404, "EXPORT_NOT_FOUND", `campaign ${campaign_id} has no export ${export_id}`, "export_id");
      }
      return json(200, await view(record));
    },
  };
}
