import { type CreatedStock, createStock } from "../../../domain/stocks/create-stock.js";
import type { CreateStockRequest, RefundFlowRow, UseFlowRow } from "../../../wechatpay/favor/types.js";
import { validateCreateStock } from "../../../wechatpay/favor/validation.js";
import type { RouteHandler, RouteTable } from "../api-handler.js";
import { badRequest } from "../http-error.js";
import { jsonBody, pathParams, queryParams, rawBody } from "../request.js";
import { json } from "../responses.js";
import {
  itemsQuery,
  listStocksQuery,
  merchantsQuery,
  stockCommandBody,
  stockDetailQuery,
  stockIdPath,
} from "../schemas.js";
import { createStockBody } from "../stock-schemas.js";
import { keyedOutcomeResponse, waitForFinal } from "./keyed-outcome-response.js";
import type { ApiServices } from "./services.js";

export function stockRoutes(services: ApiServices): RouteTable {
  const command =
    (name: "start" | "pause" | "restart" | "stop"): RouteHandler =>
    async (event) => {
      const { stock_id } = pathParams(event, stockIdPath);
      const body = rawBody(event).trim() ? jsonBody(event, stockCommandBody) : undefined;
      const { client, secret } = await services.merchant.get();
      return json(
        200,
        await client.stocks[name](stock_id, { stock_creator_mchid: body?.stock_creator_mchid ?? secret.mchid }),
      );
    };

  return {
    "POST /stocks": async (event) => {
      // Shapes first (the schema the OpenAPI document publishes), then WeChat's business rules for a request not
      // seen before, both before anything is recorded: bad input leaves no record behind.
      const { stock_creator_mchid: _creatorIsTheMerchant, ...fields } = jsonBody(event, createStockBody);
      const { secret } = await services.merchant.get();
      const body: CreateStockRequest = { belong_merchant: secret.mchid, ...fields };
      const created = await createStock(services.stocks, {
        mchid: secret.mchid,
        outRequestNo: body.out_request_no,
        body: body as unknown as Record<string, unknown>,
        validate: () => validateCreateStock(body, { mchid: secret.mchid, now: services.stocks.clock() }),
      });
      const outcome = await waitForFinal(services.stocks.stockRequests, created, services.inProgressWaitMs);
      return keyedOutcomeResponse(outcome, {
        requestId: event.requestContext.requestId,
        what: "stock creation",
        succeeded: (record, replayed) =>
          json(replayed ? 200 : 201, {
            ...(record.result as CreatedStock),
            out_request_no: record.outRequestNo,
            replayed,
          }),
      });
    },
    "GET /stocks": async (event) => {
      const query = queryParams(event, listStocksQuery);
      const { client, secret } = await services.merchant.get();
      return json(
        200,
        await client.stocks.list({ ...query, stock_creator_mchid: query.stock_creator_mchid ?? secret.mchid }),
      );
    },
    "GET /stocks/{stock_id}": async (event) => {
      const { stock_id } = pathParams(event, stockIdPath);
      const query = queryParams(event, stockDetailQuery);
      const { client, secret } = await services.merchant.get();
      return json(
        200,
        await client.stocks.get(stock_id, { stock_creator_mchid: query.stock_creator_mchid ?? secret.mchid }),
      );
    },
    "POST /stocks/{stock_id}/start": command("start"),
    "POST /stocks/{stock_id}/pause": command("pause"),
    "POST /stocks/{stock_id}/restart": command("restart"),
    "POST /stocks/{stock_id}/stop": command("stop"),
    "GET /stocks/{stock_id}/merchants": async (event) => {
      const { stock_id } = pathParams(event, stockIdPath);
      const query = queryParams(event, merchantsQuery);
      const { client, secret } = await services.merchant.get();
      return json(
        200,
        await client.stocks.merchants(stock_id, {
          ...query,
          stock_creator_mchid: query.stock_creator_mchid ?? secret.mchid,
        }),
      );
    },
    "GET /stocks/{stock_id}/items": async (event) => {
      const { stock_id } = pathParams(event, stockIdPath);
      const query = queryParams(event, itemsQuery);
      const { client, secret } = await services.merchant.get();
      return json(
        200,
        await client.stocks.items(stock_id, {
          ...query,
          stock_creator_mchid: query.stock_creator_mchid ?? secret.mchid,
        }),
      );
    },
    "GET /stocks/{stock_id}/use-flow": flowRoute(services, "openUseFlow"),
    "GET /stocks/{stock_id}/refund-flow": flowRoute(services, "openRefundFlow"),
  };
}

/**
 * The whole flow in one answer: for stocks whose flows fit an HTTP answer. The rows stream from WeChat and are
 * checked (SHA-1, summary) before anything is answered.
 */
function flowRoute(services: ApiServices, open: "openUseFlow" | "openRefundFlow"): RouteHandler {
  return async (event) => {
    const { stock_id } = pathParams(event, stockIdPath);
    if (Object.keys(event.queryStringParameters ?? {}).length)
      throw badRequest("query", "this route takes no query parameters");
    const { client } = await services.merchant.get();
    const flow = await client.flows[open](stock_id);
    const rows: (UseFlowRow | RefundFlowRow)[] = [];
    for await (const row of flow) rows.push(row);
    return json(200, {
      hash_value: flow.completed!.sha1,
      hash_type: "SHA1",
      columns: [...flow.columns],
      rows,
      total_count: flow.completed!.rows,
    });
  };
}
