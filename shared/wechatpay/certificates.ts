import type { KeyObject } from "node:crypto";
import { readHeader } from "./auth/headers.js";
import { readSignedMessage, verifySignedMessage } from "./auth/signed-message.js";
import type { VerificationKeySource } from "./auth/wechatpay-verifier.js";
import { decryptAeadAesGcm } from "./crypto/aead-aes-gcm.js";
import { certificateSerialNumber, loadPublicKey } from "./crypto/keys.js";
import { PlatformCertificateError, WechatPayError } from "./errors.js";
import type { WechatPayHttpClient } from "./transport/http-client.js";

export const CERTIFICATES_PATH = "/v3/certificates";
const CERTIFICATE_ASSOCIATED_DATA = "certificate";

/** One item of `GET /v3/certificates` (docs/wechatpay-apiv3-security.md#platform-certificates). */
export interface CertificateItem {
  serial_no: string;
  effective_time: string;
  expire_time: string;
  encrypt_certificate: {
    algorithm: string;
    nonce: string;
    associated_data: string;
    ciphertext: string;
  };
}

/** A decrypted, checked WeChat Pay platform certificate. */
export interface PlatformCertificate {
  serialNo: string;
  effectiveTime: string;
  expireTime: string;
  pem: string;
  publicKey: KeyObject;
}

export interface DownloadCertificatesOptions {
  apiv3Key: string | Buffer;
  /** Keys known before this download; their serials decide whether the answer must verify. */
  knownKeys?: VerificationKeySource & { knownSerials?: readonly string[] };
  now?: () => number;
}

/**
 * Decrypts one certificate item (AEAD with the APIv3 key, associated data "certificate") and checks that the
 * certificate inside carries the announced serial. The AEAD tag is what makes a certificate trustworthy: only
 * WeChat and the merchant know the APIv3 key.
 */
export function openCertificateItem(item: CertificateItem, apiv3Key: string | Buffer): PlatformCertificate {
  const serialNo = item.serial_no.toUpperCase();
  const pem = decryptAeadAesGcm({
    key: apiv3Key,
    nonce: item.encrypt_certificate.nonce,
    associatedData: item.encrypt_certificate.associated_data ?? CERTIFICATE_ASSOCIATED_DATA,
    ciphertext: item.encrypt_certificate.ciphertext,
  }).toString("utf8");
  let actual: string;
  try {
    actual = certificateSerialNumber(pem);
  } catch (cause) {
    throw new PlatformCertificateError(serialNo, `certificate ${serialNo} does not decrypt to an X.509 PEM`, { cause });
  }
  if (actual !== serialNo) {
    throw new PlatformCertificateError(serialNo, `certificate announced as ${serialNo} has serial ${actual}`);
  }
  return {
    serialNo,
    effectiveTime: item.effective_time,
    expireTime: item.expire_time,
    pem,
    publicKey: loadPublicKey(pem),
  };
}

/**
 * Downloads and opens WeChat Pay's platform certificates. The answer's signature is checked with the keys known
 * before plus the certificates just opened (so a rotated signing certificate verifies); only a bootstrap — no key
 * known at all and the signer not among the downloaded certificates — is accepted unverified, as the official SDKs do.
 *
 * @example
 * const certificates = await downloadPlatformCertificates(http, { apiv3Key });
 * keys.setCertificates(new Map(certificates.map((c) => [c.serialNo, c.publicKey])));
 */
export async function downloadPlatformCertificates(
  http: WechatPayHttpClient,
  options: DownloadCertificatesOptions,
): Promise<PlatformCertificate[]> {
  // Verified here rather than in the transport: resolving an unknown serial would download certificates again.
  const response = await http.request<{ data?: CertificateItem[] }>({
    method: "GET",
    path: CERTIFICATES_PATH,
    verify: false,
  });
  const items = response.data?.data;
  if (!Array.isArray(items)) throw new WechatPayError("MALFORMED_RESPONSE", "/v3/certificates: `data` is not a list");
  const certificates = items.map((item) => openCertificateItem(item, options.apiv3Key));

  const downloaded = new Map(certificates.map((c) => [c.serialNo, c.publicKey]));
  const keys: VerificationKeySource = {
    keyFor: (serial) => options.knownKeys?.keyFor(serial) ?? downloaded.get(serial.toUpperCase()),
  };
  const bootstrap = (options.knownKeys?.knownSerials?.length ?? 0) === 0;
  const signer = bootstrap ? readHeader(response.headers, "Wechatpay-Serial") : undefined;
  if (!bootstrap || (signer !== undefined && keys.keyFor(signer))) {
    const signed = readSignedMessage(response.headers, response.rawBody);
    await verifySignedMessage(signed, keys, Math.floor((options.now ?? Date.now)() / 1000));
  }
  return certificates;
}

/** A `downloadCertificates` function for WechatpayVerificationKeys: serial → public key of each certificate. */
export function platformCertificateDownloader(
  http: WechatPayHttpClient,
  options: DownloadCertificatesOptions,
): () => Promise<ReadonlyMap<string, KeyObject>> {
  return async () => {
    const certificates = await downloadPlatformCertificates(http, options);
    return new Map(certificates.map((c) => [c.serialNo, c.publicKey]));
  };
}
