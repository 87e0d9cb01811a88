import type { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type NotificationDependencies, processNotification } from "../../domain/notifications/process-notification.js";
import { flushMetrics, recordNotification } from "../../observability/metrics.js";
import { DecryptionError, NotificationFormatError, SignatureVerificationError } from "../../wechatpay/errors.js";
import type { NotificationKeys } from "../../wechatpay/notify/parse-notification.js";
import { parseCouponUseNotification } from "../../wechatpay/notify/parse-notification.js";
import { rawBody } from "./request.js";
import { type HttpResult, json } from "./responses.js";

export interface NotifyHandlerDependencies extends NotificationDependencies {
  keys(): Promise<NotificationKeys>;
  logger: Logger;
}

/** WeChat's expected failure body; any non-2xx makes it deliver again on its schedule. */
const fail = (statusCode: number, message: string): HttpResult => json(statusCode, { code: "FAIL", message });

/**
 * The webhook: verify the raw body (before anything parses it), decrypt, store once, publish, acknowledge.
 * Forged, replayed or probe requests are refused before any state is touched; a store or publish failure answers
 * 500 so WeChat retries.
 */
export function createNotifyHandler(deps: NotifyHandlerDependencies) {
  const handle = notifyOnce(deps);
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    try {
      return await handle(event);
    } finally {
      flushMetrics();
    }
  };
}

function notifyOnce(deps: NotifyHandlerDependencies) {
  return async (event: APIGatewayProxyEventV2): Promise<HttpResult> => {
    const body = rawBody(event);
    let parsed: Awaited<ReturnType<typeof parseCouponUseNotification>>;
    try {
      parsed = await parseCouponUseNotification(
        { headers: event.headers ?? {}, body },
        await deps.keys(),
        Math.floor(deps.clock() / 1000),
      );
    } catch (error) {
      return refuse(deps.logger, error);
    }
    try {
      const result = await processNotification(deps, {
        id: parsed.envelope.id,
        eventType: parsed.envelope.event_type,
        createTime: parsed.envelope.create_time,
        resource: parsed.resource as unknown as Record<string, unknown>,
      });
      recordNotification(result.duplicate ? "duplicate" : "stored");
      deps.logger.info("notification accepted", {
        notificationId: parsed.envelope.id,
        duplicate: result.duplicate,
        wechatRequestId: parsed.requestId,
      });
      return { statusCode: 204 };
    } catch (error) {
      recordNotification("failed");
      deps.logger.error("notification not stored; WeChat will deliver it again", {
        notificationId: parsed.envelope.id,
        error: error as Error,
      });
      return fail(500, "temporarily unable to store the notification");
    }
  };
}

function refuse(logger: Logger, error: unknown): HttpResult {
  if (error instanceof SignatureVerificationError) {
    recordNotification("rejected", error.reason);
    logger.warn("notification refused: signature", {
      reason: error.reason,
      serial: error.serial,
      wechatRequestId: error.requestId,
    });
    return fail(401, "signature verification failed");
  }
  if (error instanceof NotificationFormatError) {
    recordNotification("rejected", "FORMAT");
    logger.warn("notification refused: format", { field: error.field });
    return fail(400, `malformed notification: ${error.field}`);
  }
  if (error instanceof DecryptionError) {
    // Signed by WeChat but not decryptable: our APIv3 key is wrong. 500 keeps WeChat retrying until it is fixed.
    recordNotification("failed");
    logger.error("notification could not be decrypted: check the APIv3 key in the merchant secret");
    return fail(500, "unable to decrypt the notification");
  }
  recordNotification("failed");
  logger.error("notification handling failed", { error: error as Error });
  return fail(500, "internal error");
}
