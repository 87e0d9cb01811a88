import { X509Certificate } from "node:crypto";
import { formatRfc3339 } from "../clock.js";
import { type ApiRequest, type ApiResponse, ok, type SimContext } from "../context.js";
import { encryptAeadAesGcm } from "../crypto/aes-gcm.js";
import { randomNonce } from "../crypto/nonce.js";
import { paramError } from "../errors.js";
import type { Router } from "../router.js";
import { onlyQuery } from "./params.js";

/**
 * `GET /v3/certificates`: the platform certificate, encrypted with the APIv3 key
 * (docs/wechatpay-apiv3-security.md#platform-certificates).
 */
function certificates(req: ApiRequest, ctx: SimContext): ApiResponse {
  onlyQuery(req, ["algorithm_type"]);
  const algorithm = req.query.get("algorithm_type") ?? "RSA";
  if (!["RSA", "SM2", "ALL"].includes(algorithm)) throw paramError("algorithm_type不合法", "algorithm_type", "query");
  if (algorithm === "SM2") return ok({ data: [] });
  const pem = ctx.keys.platformCertificatePem;
  const cert = new X509Certificate(pem);
  const nonce = randomNonce(12);
  return ok({
    data: [
      {
        serial_no: ctx.file.platform_certificate_serial,
        effective_time: formatRfc3339(Date.parse(cert.validFrom)),
        expire_time: formatRfc3339(Date.parse(cert.validTo)),
        encrypt_certificate: {
          algorithm: "AEAD_AES_256_GCM",
          nonce,
          associated_data: "certificate",
          ciphertext: encryptAeadAesGcm(Buffer.from(ctx.keys.apiv3Key, "utf8"), nonce, "certificate", pem),
        },
      },
    ],
  });
}

export function registerCertificateRoutes(router: Router): void {
  router.add("GET", "/v3/certificates", { name: "certificates" }, certificates);
}
