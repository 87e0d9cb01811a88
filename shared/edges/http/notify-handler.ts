import type { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type NotificationDependencies, processNotification } from "../../domain/notifications/process-notification.js";
import { flushMetrics, recordNotification } from "../../observability/metrics.js";
import { DecryptionError, NotificationFormatError, SignatureVerificationError } from "../../wechatpay/errors.js";
import type { CouponUseResource, ParsedNotification } from "../../wechatpay/notify/notification.js";
import {
  type CheckedNotification,
  COUPON_USE_EVENT,
  checkNotification,
  type NotificationKeys,
  openNotification,
  requireCouponUseFields,
} from "../../wechatpay/notify/parse-notification.js";
import { rawBody } from "./request.js";
import { type HttpResult, json } from "./responses.js";

export interface NotifyHandlerDependencies extends NotificationDependencies {
  keys(): Promise<NotificationKeys>;
  logger: Logger;
}

/** WeChat's expected failure body; any non-2xx makes it deliver again on its schedule. */
const fail = (statusCode: number, message: string): HttpResult => json(statusCode, { code: "FAIL", message });

/**
 * The webhook: check what needs no key, verify the raw body's signature, decrypt, store once, publish, acknowledge.
 * Anything failing before verification is 401 (a stranger's request must not page anyone or make us call WeChat);
 * forged, replayed or probe requests are refused before any state is touched; a store or publish failure answers
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
    const request = { headers: event.headers ?? {}, body: rawBody(event) };
    const nowSeconds = Math.floor(deps.clock() / 1000);
    // 1. Everything that needs no key. The webhook is public: a request failing here has cost nothing but this.
    let checked: CheckedNotification;
    try {
      checked = checkNotification(request, nowSeconds, { eventType: COUPON_USE_EVENT });
    } catch (error) {
      return refuseUnverified(deps.logger, error);
    }
    // 2. Our keys (the secret, cached per container): failing here is ours to fix, not the sender's.
    let keys: NotificationKeys;
    try {
      keys = await deps.keys();
    } catch (error) {
      recordNotification("failed");
      deps.logger.error("notification keys unavailable: check the merchant secret", { error: error as Error });
      return fail(500, "internal error");
    }
    // 3. Signature (a certificate download only in platform-certificate mode, at most once a minute), decryption.
    let parsed: ParsedNotification<CouponUseResource>;
    try {
      parsed = await openNotification<CouponUseResource>(checked, keys, nowSeconds);
      requireCouponUseFields(parsed);
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

/**
 * A request that failed before its signature was verified: 401 and a WARN, whatever went wrong. It may be anyone's,
 * so it must not page anyone (no ERROR, no `failed` metric) nor cost more than its refusal.
 */
function refuseUnverified(logger: Logger, error: unknown): HttpResult {
  const reason =
    error instanceof SignatureVerificationError
      ? error.reason
      : error instanceof NotificationFormatError
        ? "FORMAT"
        : "UNREADABLE";
  recordNotification("rejected", reason);
  logger.warn("notification refused before verification", {
    reason,
    ...(error instanceof NotificationFormatError ? { field: error.field } : {}),
    ...(error instanceof SignatureVerificationError
      ? { serial: error.serial?.slice(0, 80), wechatRequestId: error.requestId?.slice(0, 80) }
      : {}),
  });
  return fail(401, "signature verification failed");
}

function refuse(logger: Logger, error: unknown): HttpResult {
  if (error instanceof SignatureVerificationError) {
    recordNotification("rejected", error.reason);
    logger.warn("notification refused: signature", {
      reason: error.reason,
      serial: error.serial,
      wechatRequestId: error.requestId?.slice(0, 80),
    });
    return fail(401, "signature verification failed");
  }
  if (error instanceof NotificationFormatError) {
    // Signed by WeChat, yet not the COUPON.USE resource we rely on.
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
