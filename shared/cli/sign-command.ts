import { buildAuthorization } from "../wechatpay/auth/authorization.js";
import { loadPrivateKey } from "../wechatpay/crypto/keys.js";
import { generateNonce } from "../wechatpay/crypto/nonce.js";
import { type CliIo, CliUsageError, parseOptions, readOptionFile, required, unixSeconds } from "./cli-io.js";

export const SIGN_USAGE = `usage: wxcoupon sign --key FILE --mchid ID --serial SERIAL --method METHOD --url PATH_WITH_QUERY
                    [--body-file FILE] [--timestamp UNIX_SECONDS] [--nonce NONCE] [--json]

Prints the Authorization header value of a WeChat Pay APIv3 request. --url is signed exactly as given
(path plus "?query", query values already URL-encoded); a full URL is reduced to its path and query.
The body is the exact bytes of --body-file (none for GET; the meta JSON for an image upload).
--json prints {"authorization", "method", "canonical_url", "timestamp", "nonce"}.`;

/** `wxcoupon sign`: the Authorization header for a request, for comparing with what a client sends. */
export function runSignCommand(argv: string[], io: CliIo): number {
  const values = parseOptions(argv, {
    key: { type: "string" },
    mchid: { type: "string" },
    serial: { type: "string" },
    method: { type: "string" },
    url: { type: "string" },
    "body-file": { type: "string" },
    timestamp: { type: "string" },
    nonce: { type: "string" },
    json: { type: "boolean" },
  });
  const method = required(values, "method").toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new CliUsageError(`--method must be an HTTP method, got ${method}`);
  const mchid = required(values, "mchid");
  const serialNo = required(values, "serial");
  const url = required(values, "url");
  const canonicalUrl = /^https?:\/\//i.test(url) ? `${new URL(url).pathname}${new URL(url).search}` : url;
  if (!canonicalUrl.startsWith("/")) throw new CliUsageError(`--url must start with "/", got ${url}`);
  const keyPem = readOptionFile("key", required(values, "key"), "utf8");
  let privateKey: ReturnType<typeof loadPrivateKey>;
  try {
    privateKey = loadPrivateKey(keyPem);
  } catch {
    throw new CliUsageError("--key is not an RSA private key PEM (PKCS#8 or PKCS#1)");
  }
  const body = values["body-file"] ? readOptionFile("body-file", values["body-file"], "utf8") : "";
  const timestamp = values.timestamp ? unixSeconds("timestamp", values.timestamp) : Math.floor(Date.now() / 1000);
  const nonce = values.nonce ?? generateNonce();
  const authorization = buildAuthorization(
    { mchid, serialNo, privateKey },
    { method, canonicalUrl, body, timestamp, nonce },
  );
  io.out(
    values.json
      ? JSON.stringify({ authorization, method, canonical_url: canonicalUrl, timestamp, nonce })
      : authorization,
  );
  return 0;
}
