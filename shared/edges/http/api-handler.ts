import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { logMetrics } from "../../observability/metrics.js";
import { errorResponse } from "./error-response.js";
import { errorBody, type HttpResult, json } from "./responses.js";

export type RouteHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

/** Route keys as API Gateway sets them: "POST /stocks/{stock_id}/start". */
export type RouteTable = Record<string, RouteHandler>;

/**
 * The API Lambda: dispatch on API Gateway's routeKey, answer every error through the one error mapper.
 * Unexpected errors are logged with the request id and answered as a generic 500.
 */
export function createApiHandler(routes: RouteTable, logger: Logger) {
  const dispatch = async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResult> => {
    // Correlation ids on every log line of this invocation (the Lambda request id comes from injectLambdaContext).
    logger.appendKeys({ apiRequestId: event.requestContext?.requestId, routeKey: event.routeKey });
    const route = routes[event.routeKey];
    if (!route) return json(404, errorBody("ROUTE_NOT_FOUND", `no route for ${event.routeKey}`));
    return route(event, context);
  };
  return middy<APIGatewayProxyEventV2, HttpResult>(dispatch)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics())
    .use({
      onError: async (request) => {
        const requestId = request.event.requestContext?.requestId ?? request.context.awsRequestId;
        const { response, expected } = errorResponse(request.error, requestId);
        if (!expected)
          logger.error("request failed", {
            requestId,
            routeKey: request.event.routeKey,
            error: request.error as Error,
          });
        request.response = response;
      },
    });
}
