import type { KeyObject } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { SimContext } from "./context.js";
import { parseAuthorization } from "./crypto/authorization.js";
import { requestSignMessage } from "./crypto/messages.js";
import { verifySignature } from "./crypto/rsa.js";
import { WechatApiError } from "./errors.js";
import type { Sender } from "./rules/send-coupon.js";

interface KnownMerchant extends Sender {
  serialNo: string;
  publicKey: KeyObject;
}

/** The primary merchant of simulator.json, or one registered with `POST /_simulator/merchants`. */
export function knownMerchant(ctx: SimContext, mchid: string): KnownMerchant | undefined {
  if (mchid === ctx.file.mchid)
    return {
      mchid,
      serialNo: ctx.file.merchant_serial_no,
      publicKey: ctx.keys.merchantPublicKey,
      appids: [ctx.file.appid],
      authorizedBy: [],
    };
  const extra = ctx.store.merchants.get(mchid);
  const key = ctx.store.merchantKeys.get(mchid);
  if (!extra || !key) return undefined;
  return { mchid, serialNo: extra.serial_no, publicKey: key, appids: extra.appids, authorizedBy: extra.authorized_by };
}

const SIGN_MESSAGE_SHOWN = 256;

function signError(issue: string, field: string, method: string, url: string, message: string): WechatApiError {
  // Shape observed from WeChat (docs/wechatpay-apiv3-security.md#request-signing); the issue strings other than "sign
  // not match" are our own.
  return new WechatApiError(401, "SIGN_ERROR", "错误的签名，验签失败", {
    detail: { issue },
    field,
    location: "authorization",
    sign_information: {
      method,
      sign_message_length: Buffer.byteLength(message, "utf8"),
      truncated_sign_message: message.slice(0, SIGN_MESSAGE_SHOWN),
      url,
    },
  });
}

/**
 * Verifies `Authorization` (docs/wechatpay-apiv3-security.md#request-signing) and returns the calling merchant; throws
 * 401 SIGN_ERROR otherwise. `bodyLine` is the raw body, or the meta JSON for an image upload.
 */
export function authenticate(
  ctx: SimContext,
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  bodyLine: string,
): Sender {
  const fields = parseAuthorization(headers.authorization);
  if (typeof fields === "string") return fail(signError(fields, "authorization", method, url, ""));
  const message = requestSignMessage(method, url, fields.timestamp, fields.nonce_str, bodyLine);
  const merchant = knownMerchant(ctx, fields.mchid);
  if (!merchant) return fail(signError("mchid not exists", "mchid", method, url, message));
  if (fields.serial_no.toUpperCase() !== merchant.serialNo.toUpperCase())
    return fail(signError("serial_no not match any certificate of the merchant", "serial_no", method, url, message));
  const timestamp = Number(fields.timestamp);
  const skew = Math.abs(ctx.clock.wireNow() / 1000 - timestamp);
  if (!/^[0-9]{1,12}$/.test(fields.timestamp) || skew > ctx.options.requestTimestampToleranceSeconds)
    return fail(signError("timestamp expired", "timestamp", method, url, message));
  if (!verifySignature(message, fields.signature, merchant.publicKey))
    return fail(signError("sign not match", "signature", method, url, message));
  return { mchid: merchant.mchid, appids: merchant.appids, authorizedBy: merchant.authorizedBy };
}

function fail(error: WechatApiError): never {
  throw error;
}
