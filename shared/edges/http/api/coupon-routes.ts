import { CALL_DEFERRED } from "../../../domain/keyed-call.js";
import { merchantScope } from "../../../domain/rate/rate-governor.js";
import { type SendCommand, sendCoupon } from "../../../domain/sends/send-coupon.js";
import { recordSendOutcomeOf } from "../../../observability/metrics.js";
import type { RouteTable } from "../api-handler.js";
import { badRequest, HttpError } from "../http-error.js";
import { jsonBody, pathParams, queryParams } from "../request.js";
import { json } from "../responses.js";
import {
  couponDetailQuery,
  couponIdPath,
  openidPath,
  sendCouponBody,
  userCouponPath,
  userCouponsQuery,
} from "../schemas.js";
import { keyedOutcomeResponse, waitForFinal } from "./keyed-outcome-response.js";
import type { ApiServices, SendApiServices } from "./services.js";

/** The one-off send, served by the send-api function alone (shared/edges/http/routes.ts). */
export function sendCouponRoutes(services: SendApiServices): RouteTable {
  return {
    "POST /coupons": async (event) => {
      const body = jsonBody(event, sendCouponBody);
      const { secret } = await services.merchant.get();
      const command = {
        mchid: secret.mchid,
        outRequestNo: body.out_request_no,
        stockId: body.stock_id,
        openid: body.openid,
        appid: body.appid ?? requireAppid(secret.appid),
        stockCreatorMchid: body.stock_creator_mchid ?? secret.mchid,
      };
      const outcome = await sendWithinBudget(services, command);
      recordSendOutcomeOf(outcome);
      return keyedOutcomeResponse(outcome, {
        requestId: event.requestContext.requestId,
        what: "send",
        succeeded: (record, replayed) =>
          json(200, { coupon_id: record.couponId, out_request_no: record.outRequestNo, replayed }),
      });
    },
  };
}

/** Reads of coupons, served by the api function. */
export function couponRoutes(services: ApiServices): RouteTable {
  return {
    "GET /users/{openid}/coupons": async (event) => {
      const { openid } = pathParams(event, openidPath);
      const query = queryParams(event, userCouponsQuery);
      const { client, secret } = await services.merchant.get();
      const filters =
        query.creator_mchid || query.sender_mchid || query.available_mchid ? {} : { creator_mchid: secret.mchid };
      return json(
        200,
        await client.coupons.list(openid, { ...query, ...filters, appid: query.appid ?? requireAppid(secret.appid) }),
      );
    },

    "GET /users/{openid}/coupons/{coupon_id}": async (event) => {
      const { openid, coupon_id } = pathParams(event, userCouponPath);
      const { appid } = queryParams(event, couponDetailQuery);
      const { client, secret } = await services.merchant.get();
      return json(200, await client.coupons.get(openid, coupon_id, { appid: appid ?? requireAppid(secret.appid) }));
    },

    "GET /coupons/{coupon_id}/events": async (event) => {
      const { coupon_id } = pathParams(event, couponIdPath);
      const events = await services.inbox.listByCoupon(coupon_id);
      return json(200, {
        data: events.map((e) => ({
          id: e.id,
          event_type: e.eventType,
          coupon_id: e.couponId,
          stock_id: e.stockId,
          create_time: e.createTime,
          received_at: new Date(e.receivedAt).toISOString(),
          resource: e.resource,
        })),
      });
    },
  };
}

/** WeChat calls of one POST /coupons that may meet a 429, each with a token of its own. */
const RATE_LIMITED_TRIES = 3;

/**
 * Sends within the merchant's budget: a token, then the call. The token is taken while the ledger's record is claimed
 * (one round trip less before the call; the budget is only needed once the call may start, `KeyedCall.beforeCall`):
 * a send that gets no token therefore leaves its record PENDING and uncalled, never final, and the same
 * out_request_no sends later. A key already final replays without calling WeChat (its token goes unused, as the
 * budget's other unused tokens do). When WeChat answers 429 all the same (something else of the merchant's takes part
 * of its limit), the budget is cut for every sender (RateGovernor.onRateLimited) and the send is tried again with a
 * new token, up to RATE_LIMITED_TRIES calls, while the wait for tokens stays within `rate.maxWaitMs` in all: the
 * send-api's WeChat client does not retry a 429 itself, outside the budget (build-send-api-function.ts). A 429 on the
 * last try answers 429 RATE_LIMITED, nothing final recorded.
 */
async function sendWithinBudget(services: SendApiServices, command: SendCommand) {
  const deadline = Date.now() + services.rate.maxWaitMs;
  const waitLeft = () => Math.max(0, deadline - Date.now());
  for (let tries = 1; ; tries++) {
    const token = takeToken(services, command, waitLeft());
    // Awaited by `beforeCall`; a replay never asks for it, and its failure is then nobody's.
    token.catch(() => undefined);
    let tokenSecond: number | undefined;
    // With the ledger's lease held, right before the call: the interactive token (waited for up to the budget's
    // wait), and one whose second is over renewed, so the send does not reach WeChat on top of the next second's
    // budget. No token: no call.
    const beforeCall = async () => {
      let taken = tokenSecond === undefined ? await token : { granted: 1, second: tokenSecond };
      if (taken.granted === 1 && Math.floor(Date.now() / 1000) > taken.second)
        taken = await takeToken(services, command, waitLeft());
      if (taken.granted !== 1) return false;
      tokenSecond = taken.second;
      return true;
    };
    const sent = await sendCoupon(services.sends, command, { beforeCall });
    if (sent.status === "RETRY" && sent.code === CALL_DEFERRED) throw budgetExhausted();
    const outcome = await waitForFinal(services.sends.ledger, sent, services.inProgressWaitMs);
    if (outcome.status !== "RETRY" || !outcome.rateLimited) return outcome;
    services.rate.governor.onRateLimited(merchantScope(command.mchid), services.defaultRatePerSecond, tokenSecond);
    if (tries >= RATE_LIMITED_TRIES || Date.now() >= deadline) return outcome;
  }
}

/**
 * One interactive token of the merchant's budget, waiting at most `maxWaitMs`, and the second it is for. Campaigns
 * share the budget (rate-governor.ts): an interactive send may take whatever campaigns have not, and campaigns always
 * leave it a reserve, so it does not wait behind them. If the budget is spent (interactive sends alone at WeChat's
 * limit) it waits up to `maxWaitMs` for the next second; if still none, the send answers 429 SEND_BUDGET_EXHAUSTED
 * with Retry-After, and nothing final is recorded.
 */
function takeToken(services: SendApiServices, command: { mchid: string }, maxWaitMs: number) {
  const scope = merchantScope(command.mchid);
  return services.rate.governor.acquire(scope, { interactive: true }, 1, services.defaultRatePerSecond, maxWaitMs);
}

function budgetExhausted(): HttpError {
  return new HttpError(
    429,
    "SEND_BUDGET_EXHAUSTED",
    "the merchant's send rate is spent for now; retry with the same out_request_no",
    undefined,
    { "retry-after": "1" },
  );
}

function requireAppid(appid: string | undefined): string {
  if (!appid) throw badRequest("appid", "is required: the merchant secret has no default appid");
  return appid;
}
