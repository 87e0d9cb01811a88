import { createCampaign } from "../../domain/campaigns/create-campaign.js";
import { reconcileCampaign } from "../../domain/campaigns/reconcile-campaign.js";
import type { CampaignRecord } from "../../domain/ports.js";
import type { RouteTable } from "../api-handler.js";
import { badRequest, HttpError } from "../http-error.js";
import { jsonBody, pathParams } from "../request.js";
import { json } from "../responses.js";
import { campaignIdPath, createCampaignBody } from "../schemas.js";
import type { ApiServices } from "./services.js";

export function campaignRoutes(services: ApiServices): RouteTable {
  return {
    "POST /campaigns": async (event) => {
      const body = jsonBody(event, createCampaignBody);
      const { secret } = await services.merchant.get();
      const appid = body.appid ?? secret.appid;
      if (!appid) throw badRequest("appid", "is required: the merchant secret has no default appid");
      const result = await createCampaign(services.campaigns, {
        mchid: secret.mchid,
        stockId: body.stock_id,
        appid,
        openids: body.openids,
        ratePerSecond: Math.min(body.rate_per_second ?? services.defaultRatePerSecond, services.defaultRatePerSecond),
        ...(body.campaign_id ? { campaignId: body.campaign_id } : {}),
      });
      return json(202, {
        campaign_id: result.campaign.id,
        state: result.campaign.state,
        total: result.campaign.total,
        replayed: result.replayed,
        duplicates_removed: result.duplicatesRemoved,
      });
    },

    "GET /campaigns/{campaign_id}": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const campaign = await reconcileCampaign(
        { campaigns: services.campaigns.campaigns, ledger: services.ledger, clock: Date.now },
        campaign_id,
      );
      if (!campaign) throw new HttpError(404, "CAMPAIGN_NOT_FOUND", `no campaign ${campaign_id}`, "campaign_id");
      return json(200, campaignView(campaign));
    },
  };
}

export function campaignView(c: CampaignRecord) {
  return {
    campaign_id: c.id,
    stock_id: c.stockId,
    state: c.state,
    total: c.total,
    // Before reconciliation a crash may have counted a send twice: never show more than the total.
    sent: Math.min(c.sent, c.total),
    failed: Math.min(c.failed, c.total - Math.min(c.sent, c.total)),
    pending: Math.max(0, c.total - c.sent - c.failed),
    failures_by_code: c.failuresByCode,
    rate_per_second: c.ratePerSecond,
    created_at: new Date(c.createdAt).toISOString(),
    updated_at: new Date(c.updatedAt).toISOString(),
  };
}
