/**
 * wxcoupon's WeChat Pay APIv3 client for cash coupons (`/v3/marketing/favor`). Node built-ins and zod only.
 *
 * @example
 * import { createWechatPayClient, isWechatPayApiError } from "#shared/wechatpay/index.js";
 * const client = createWechatPayClient({ mchid, merchantSerialNo, merchantPrivateKey, apiv3Key, wechatpayPublicKey });
 * try {
 *   await client.coupons.send(openid, { stock_id, out_request_no, appid });
 * } catch (error) {
 *   if (isWechatPayApiError(error, "NOT_ENOUGH")) … // budget exhausted
 * }
 */

export {
  AUTHORIZATION_SCHEME,
  buildAuthorization,
  buildAuthorizationAsync,
  formatAuthorization,
  type MerchantCredentials,
  type RequestToSign,
} from "./auth/authorization.js";
export { type HeaderSource, readHeader } from "./auth/headers.js";
export {
  checkSignedMessageEnvelope,
  MAX_CLOCK_SKEW_SECONDS,
  readSignedMessage,
  SIGNATURE_PROBE_PREFIX,
  type SignedMessage,
  verifySignedMessage,
} from "./auth/signed-message.js";
export {
  PUBLIC_KEY_ID_PREFIX,
  type VerificationKeySource,
  WechatpayVerificationKeys,
} from "./auth/wechatpay-verifier.js";
export {
  type CertificateItem,
  downloadPlatformCertificates,
  openCertificateItem,
  type PlatformCertificate,
  platformCertificateDownloader,
} from "./certificates.js";
export {
  createWechatPayClient,
  type WechatPayClient,
  type WechatPayClientOptions,
  type WechatpayPublicKeyOption,
} from "./client.js";
export { decryptAeadAesGcm, encryptAeadAesGcm } from "./crypto/aead-aes-gcm.js";
export { certificateSerialNumber, loadPrivateKey, loadPublicKey } from "./crypto/keys.js";
export { buildRequestMessage, buildResponseMessage } from "./crypto/messages.js";
export { generateNonce } from "./crypto/nonce.js";
export { signMessage, signMessageAsync, verifyMessage } from "./crypto/rsa-sha256.js";
export {
  DecryptionError,
  FlowFileFormatError,
  FlowFileIntegrityError,
  isRetryableError,
  isWechatPayApiError,
  NotificationFormatError,
  PlatformCertificateError,
  SignatureVerificationError,
  TransportError,
  WechatPayApiError,
  WechatPayError,
  WechatPayValidationError,
} from "./errors.js";
export { CallbacksApi } from "./favor/callbacks.js";
export { CouponsApi } from "./favor/coupons.js";
export { type FlowCsvProgress, type FlowRecord, readFlowCsv } from "./favor/flow-csv.js";
export { type FlowCompletion, FlowDownload, FlowsApi, flowFilesAvailableAt } from "./favor/flows.js";
export { imageUploadMeta, MediaApi } from "./favor/media.js";
export { StocksApi } from "./favor/stocks.js";
export type * from "./favor/types.js";
export * as favorValidation from "./favor/validation.js";
export type { CouponUseResource, NotificationEnvelope, ParsedNotification } from "./notify/notification.js";
export {
  type CheckedNotification,
  COUPON_USE_EVENT,
  checkNotification,
  openNotification,
  parseCouponUseNotification,
  parseNotification,
} from "./notify/parse-notification.js";
export { createApiError } from "./transport/api-error.js";
export {
  type ApiRequest,
  type ApiResponse,
  DEFAULT_BACKUP_BASE_URL,
  DEFAULT_BASE_URL,
  type DownloadedFile,
  WechatPayHttpClient,
  type WechatPayHttpClientOptions,
} from "./transport/http-client.js";
export { buildMultipartBody } from "./transport/multipart.js";
export {
  type HttpAnswer,
  type HttpExchange,
  type HttpSend,
  nodeHttpSend,
  type ResponseHeaders,
} from "./transport/node-http-send.js";
export { buildRequestUrl, canonicalUrl } from "./transport/request-url.js";
export { backoffDelayMs, type RetryDecision, shouldRetry } from "./transport/should-retry.js";
