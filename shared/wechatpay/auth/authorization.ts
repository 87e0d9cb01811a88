import type { KeyObject } from "node:crypto";
import { buildRequestMessage } from "../crypto/messages.js";
import { signMessage, signMessageAsync } from "../crypto/rsa-sha256.js";

export const AUTHORIZATION_SCHEME = "WECHATPAY2-SHA256-RSA2048";

/** The merchant identity that signs requests. `serialNo` is the merchant API certificate serial, not WeChat's. */
export interface MerchantCredentials {
  mchid: string;
  serialNo: string;
  privateKey: KeyObject;
}

export interface RequestToSign {
  method: string;
  /** Path plus "?query" exactly as sent, without scheme and host. */
  canonicalUrl: string;
  /** The exact body bytes as text; "" for GET. For the image upload, the meta JSON. */
  body: string;
  timestamp: number;
  nonce: string;
}

/** The Authorization header value for a signature computed elsewhere. */
export function formatAuthorization(
  credentials: Pick<MerchantCredentials, "mchid" | "serialNo">,
  request: Pick<RequestToSign, "timestamp" | "nonce">,
  signature: string,
): string {
  return (
    `${AUTHORIZATION_SCHEME} mchid="${credentials.mchid}",nonce_str="${request.nonce}",` +
    `timestamp="${request.timestamp}",serial_no="${credentials.serialNo}",signature="${signature}"`
  );
}

/**
 * Signs a request: Authorization header value per WeChat Pay APIv3.
 * @example
 * buildAuthorization(credentials, { method: "GET", canonicalUrl: "/v3/certificates", body: "", timestamp, nonce })
 */
export function buildAuthorization(credentials: MerchantCredentials, request: RequestToSign): string {
  const message = buildRequestMessage(
    request.method,
    request.canonicalUrl,
    request.timestamp,
    request.nonce,
    request.body,
  );
  return formatAuthorization(credentials, request, signMessage(message, credentials.privateKey));
}

/** As buildAuthorization, signing on the thread pool. */
export async function buildAuthorizationAsync(
  credentials: MerchantCredentials,
  request: RequestToSign,
): Promise<string> {
  const message = buildRequestMessage(
    request.method,
    request.canonicalUrl,
    request.timestamp,
    request.nonce,
    request.body,
  );
  return formatAuthorization(credentials, request, await signMessageAsync(message, credentials.privateKey));
}
