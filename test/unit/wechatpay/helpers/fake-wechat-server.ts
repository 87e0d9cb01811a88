import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WechatpayVerificationKeys } from "#shared/wechatpay/auth/wechatpay-verifier.js";
import { loadPrivateKey, loadPublicKey } from "#shared/wechatpay/crypto/keys.js";
import { buildResponseMessage } from "#shared/wechatpay/crypto/messages.js";
import { signMessage } from "#shared/wechatpay/crypto/rsa-sha256.js";
import { TEST_PUBLIC_KEY_PEM, testPrivateKeyPem } from "../../../fixtures/vectors/public-vectors.js";

/**
 * The public test key (V1, docs/wechatpay-apiv3-security.md#v1-rsa-key-pair-and-signature) signs as "WeChat" in these
 * tests; the merchant uses the same key pair.
 */
export const testPrivateKey = loadPrivateKey(testPrivateKeyPem());
export const testPublicKey = loadPublicKey(TEST_PUBLIC_KEY_PEM);
export const TEST_PUBLIC_KEY_ID = "PUB_KEY_ID_0000000000000024101100397200000006";
export const MERCHANT = { mchid: "8956000", serialNo: "BE6DCDA7A5931FA0", privateKey: testPrivateKey };
/** 2024-05-21T10:00:05+08:00 */
export const NOW_MS = 1_716_256_805_000;

export interface RecordedRequest {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Signing {
  serial?: string;
  timestamp?: number;
  nonce?: string;
  /** Replaces the computed signature. */
  signature?: string;
  /** Body that is signed when it should differ from the one sent (tampering). */
  signedBody?: string;
}

export interface FakeReply {
  status?: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** false: no Wechatpay-* headers (error answers, downloads). Default: sign 2xx answers. */
  sign?: false | Signing;
  /** Never answer (timeouts). */
  hang?: boolean;
}

export type FakeHandler = (request: RecordedRequest, server: FakeWechatServer) => FakeReply | Promise<FakeReply>;

/** A local stand-in for WeChat Pay on 127.0.0.1:0 that records requests and signs answers with the test key. */
export class FakeWechatServer {
  readonly requests: RecordedRequest[] = [];
  url = "";
  now = NOW_MS;
  private readonly server: Server;
  private counter = 0;

  constructor(private handler: FakeHandler) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", async () => {
        const request = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.requests.push(request);
        const reply = await this.handler(request, this);
        if (reply.hang) return;
        const status = reply.status ?? 200;
        const body = reply.body ?? "";
        const text = Buffer.isBuffer(body) ? body.toString("utf8") : body;
        const headers: Record<string, string> = {
          "Content-Type": "application/json",
          "Request-ID": `req-${++this.counter}`,
          ...reply.headers,
        };
        if (reply.sign !== false && status >= 200 && status < 300) {
          Object.assign(headers, this.signatureHeaders(text, reply.sign ?? {}));
        }
        res.writeHead(status, headers);
        res.end(body);
      });
    });
  }

  signatureHeaders(body: string, signing: Signing): Record<string, string> {
    const timestamp = signing.timestamp ?? Math.floor(this.now / 1000);
    const nonce = signing.nonce ?? `nonce${this.counter}`;
    const signature =
      signing.signature ??
      signMessage(buildResponseMessage(timestamp, nonce, signing.signedBody ?? body), testPrivateKey);
    return {
      "Wechatpay-Timestamp": String(timestamp),
      "Wechatpay-Nonce": nonce,
      "Wechatpay-Signature": signature,
      "Wechatpay-Serial": signing.serial ?? TEST_PUBLIC_KEY_ID,
      "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    };
  }

  setHandler(handler: FakeHandler): void {
    this.handler = handler;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A base URL on which nothing listens (connection refused). */
export async function refusedBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Keys that know the test public key under TEST_PUBLIC_KEY_ID. */
export function publicKeyMode(): WechatpayVerificationKeys {
  return new WechatpayVerificationKeys({ publicKey: { id: TEST_PUBLIC_KEY_ID, key: testPublicKey } });
}

/** Parses `WECHATPAY2-SHA256-RSA2048 k="v",…` into its fields. */
export function parseAuthorization(header: string | undefined): Record<string, string> {
  const match = /^WECHATPAY2-SHA256-RSA2048 (.+)$/.exec(header ?? "");
  if (!match) throw new Error(`not a WeChat Pay Authorization header: ${header}`);
  return Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}
