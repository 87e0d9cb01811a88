import { setTimeout as sleep } from "node:timers/promises";
import { addCampaignChunk } from "../../../domain/campaigns/add-campaign-chunk.js";
import {
  CONTROL_SETTLE_MS,
  campaignStatus,
  changeCampaignControl,
  listCampaigns,
} from "../../../domain/campaigns/campaign-lifecycle.js";
import { createCampaign, openCampaign } from "../../../domain/campaigns/create-campaign.js";
import { retryCampaign } from "../../../domain/campaigns/retry-campaign.js";
import { NotFoundError } from "../../../domain/errors.js";
import type { CampaignRecord, SendRecord } from "../../../domain/ports.js";
import { merchantScope } from "../../../domain/rate/rate-governor.js";
import type { RouteTable } from "../api-handler.js";
import { badRequest, HttpError } from "../http-error.js";
import { jsonBody, pathParams, queryParams, rawBody } from "../request.js";
import type {
  CampaignAcceptedResponse,
  CampaignChunkResponse,
  CampaignControlResponse,
  CampaignFailuresResponse,
  CampaignListResponse,
  CampaignResponse,
  CampaignRetryResponse,
} from "../response-schemas.js";
import { json } from "../responses.js";
import {
  campaignChunkBody,
  campaignFailuresQuery,
  campaignIdPath,
  createCampaignBody,
  emptyCommandBody,
  listCampaignsQuery,
  retryCampaignBody,
} from "../schemas.js";
import type { ApiServices } from "./services.js";

/** Ledger records read per failures page: bounds one request's work; FAILED ones among them are returned. */
const FAILURES_SCAN_LIMIT = 1_000;

export function campaignRoutes(services: ApiServices): RouteTable {
  const clock = services.campaigns.clock;
  const reconcileDeps = { campaigns: services.campaigns.campaigns, ledger: services.campaigns.ledger, clock };
  const lifecycleDeps = {
    ...reconcileDeps,
    gateway: services.campaigns.gateway,
    settleMs: services.campaignControlSettleMs ?? CONTROL_SETTLE_MS,
    sleep: (ms: number) => sleep(ms).then(() => undefined),
  };
  const notFound = (id: string) => new HttpError(404, "CAMPAIGN_NOT_FOUND", `no campaign ${id}`, "campaign_id");
  const control =
    (action: "pause" | "resume" | "cancel"): RouteTable[string] =>
    async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      // No fields, but a body that is there must be `{}`: junk is the caller's mistake, answered before any lookup.
      if (rawBody(event).trim()) jsonBody(event, emptyCommandBody);
      try {
        const result = await changeCampaignControl(lifecycleDeps, campaign_id, action);
        const answer: CampaignControlResponse = {
          campaign: campaignView(result.campaign, clock()),
          changed: result.changed,
        };
        return json(200, answer);
      } catch (error) {
        if (error instanceof NotFoundError && error.field === "campaign_id") throw notFound(campaign_id);
        throw error;
      }
    };

  return {
    "POST /campaigns": async (event) => {
      const body = jsonBody(event, createCampaignBody);
      const { secret } = await services.merchant.get();
      const appid = body.appid ?? secret.appid;
      if (!appid) throw badRequest("appid", "is required: the merchant secret has no default appid");
      const ratePerSecond = Math.min(
        body.rate_per_second ?? services.defaultRatePerSecond,
        services.defaultRatePerSecond,
      );
      const fields = {
        mchid: secret.mchid,
        stockId: body.stock_id,
        appid,
        ratePerSecond,
        ...(body.start_at === undefined ? {} : { startAt: Date.parse(body.start_at) }),
      };
      // The schema guarantees the shape: chunked with a campaign_id, or openids.
      const result =
        body.chunked && body.campaign_id
          ? await openCampaign(services.campaigns, { ...fields, campaignId: body.campaign_id })
          : await createCampaign(services.campaigns, {
              ...fields,
              openids: body.openids ?? [],
              ...(body.campaign_id ? { campaignId: body.campaign_id } : {}),
            });
      const status = campaignStatus(result.campaign, clock());
      const answer: CampaignAcceptedResponse = {
        campaign_id: result.campaign.id,
        state: status.state,
        ...(status.reason ? { state_reason: status.reason } : {}),
        total: result.campaign.total,
        replayed: result.replayed,
        duplicates_removed: result.duplicatesRemoved,
        sealed: result.campaign.sealed,
      };
      return json(202, answer);
    },

    "POST /campaigns/{campaign_id}/chunks": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const body = jsonBody(event, campaignChunkBody);
      try {
        const result = await addCampaignChunk(services.campaigns, {
          campaignId: campaign_id,
          chunkNo: body.chunk_no,
          openids: body.openids,
          ...(body.last ? { last: true } : {}),
        });
        const answer: CampaignChunkResponse = {
          campaign_id,
          chunk_no: result.chunkNo,
          accepted: result.accepted,
          duplicates_removed: result.duplicatesRemoved,
          replayed: result.replayed,
          total: result.campaign.total,
          sealed: result.campaign.sealed,
        };
        return json(202, answer);
      } catch (error) {
        if (error instanceof NotFoundError && error.field === "campaign_id") throw notFound(campaign_id);
        throw error;
      }
    },

    "GET /campaigns": async (event) => {
      const query = queryParams(event, listCampaignsQuery);
      const { secret } = await services.merchant.get();
      const page = await listCampaigns(services.campaigns, {
        mchid: secret.mchid,
        limit: query.limit,
        ...(query.cursor ? { cursor: query.cursor } : {}),
        ...(query.state ? { state: query.state } : {}),
        ...(query.stock_id ? { stockId: query.stock_id } : {}),
      });
      const now = clock();
      const answer: CampaignListResponse = {
        data: page.items.map((c) => campaignView(c, now)),
        ...(page.cursor ? { cursor: page.cursor } : {}),
      };
      return json(200, answer);
    },

    "GET /campaigns/{campaign_id}": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      // One item read: sealing, recounting and completing are the sweeper's (shared/domain/campaigns/sweep-campaigns.ts).
      const campaign = await services.campaigns.campaigns.get(campaign_id);
      if (!campaign) throw notFound(campaign_id);
      const view = campaignView(campaign, clock());
      if (view.state === "SENDING" && view.state_reason === undefined && (await waitedForRate(services, campaign.id)))
        view.state_reason = "waiting_for_rate";
      return json(200, view);
    },

    "POST /campaigns/{campaign_id}/pause": control("pause"),
    "POST /campaigns/{campaign_id}/resume": control("resume"),
    "POST /campaigns/{campaign_id}/cancel": control("cancel"),

    "POST /campaigns/{campaign_id}/retry": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const body = jsonBody(event, retryCampaignBody);
      try {
        const result = await retryCampaign(services.campaigns, { campaignId: campaign_id, codes: body.codes });
        const origin = result.campaign.retryOf;
        const answer: CampaignRetryResponse = {
          campaign: campaignView(result.campaign, clock()),
          parent_campaign_id: result.parent.id,
          attempt: origin?.attempt ?? 1,
          codes: origin?.codes ?? [],
          created: result.created,
          filling_complete: result.fillingComplete,
          pages_added: result.pagesAdded,
        };
        return json(202, answer);
      } catch (error) {
        if (error instanceof NotFoundError && error.field === "campaign_id") throw notFound(campaign_id);
        throw error;
      }
    },

    "GET /campaigns/{campaign_id}/failures": async (event) => {
      const { campaign_id } = pathParams(event, campaignIdPath);
      const { cursor } = queryParams(event, campaignFailuresQuery);
      if (!(await services.campaigns.campaigns.get(campaign_id))) throw notFound(campaign_id);
      const page = await services.campaigns.ledger.listByCampaign(campaign_id, {
        limit: FAILURES_SCAN_LIMIT,
        ...(cursor ? { cursor } : {}),
      });
      const answer: CampaignFailuresResponse = {
        data: page.items.filter((r) => r.state === "FAILED").map(failureView),
        ...(page.cursor ? { cursor: page.cursor } : {}),
      };
      return json(200, answer);
    },
  };
}

function failureView(r: SendRecord): CampaignFailuresResponse["data"][number] {
  return {
    openid: r.openid,
    out_request_no: r.outRequestNo,
    code: r.errorCode ?? "UNKNOWN",
    ...(r.errorMessage ? { message: r.errorMessage } : {}),
  };
}

/** Whether the campaign's sends waited for the merchant's send budget in the last second (best effort: false on error). */
async function waitedForRate(services: ApiServices, campaignId: string): Promise<boolean> {
  try {
    const { secret } = await services.merchant.get();
    return await services.rate.governor.waitedForRate(merchantScope(secret.mchid), campaignId);
  } catch {
    return false;
  }
}

export function campaignView(c: CampaignRecord, now: number): CampaignResponse {
  const status = campaignStatus(c, now);
  // Before reconciliation a crash may have counted a send twice: never show more than the total.
  const sent = Math.min(c.sent, c.total);
  const failed = Math.min(c.failed, c.total - sent);
  const cancelled = Math.min(c.cancelled, c.total - sent - failed);
  return {
    campaign_id: c.id,
    stock_id: c.stockId,
    state: status.state,
    ...(status.reason ? { state_reason: status.reason } : {}),
    total: c.total,
    sent,
    failed,
    cancelled,
    pending: c.total - sent - failed - cancelled,
    failures_by_code: c.failuresByCode,
    rate_per_second: c.ratePerSecond,
    sealed: c.sealed,
    chunks_received: c.chunksReceived,
    ...(c.startAt === undefined ? {} : { start_at: new Date(c.startAt).toISOString() }),
    ...(c.controlChangedAt === undefined ? {} : { control_changed_at: new Date(c.controlChangedAt).toISOString() }),
    ...(c.retryOf === undefined
      ? {}
      : { retry_of: { campaign_id: c.retryOf.campaignId, attempt: c.retryOf.attempt, codes: c.retryOf.codes } }),
    ...(c.retries === undefined
      ? {}
      : { retries: c.retries.map((r) => ({ campaign_id: r.campaignId, codes: r.codes })) }),
    created_at: new Date(c.createdAt).toISOString(),
    updated_at: new Date(c.updatedAt).toISOString(),
  };
}
