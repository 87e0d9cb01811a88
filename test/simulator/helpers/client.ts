import { authorization, type TestMerchant } from "./signer.js";

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  json: any;
}

export interface RequestOptions {
  /** Raw body string (exactly what is sent and signed unless `signedBody` is given). */
  raw?: string | Buffer;
  signedBody?: string;
  headers?: Record<string, string>;
  timestamp?: number;
  serialNo?: string;
  mchid?: string;
  /** Replace the signature's body line by this (tampering). */
  tamperSignedBody?: string;
  noAuth?: boolean;
  noAccept?: boolean;
  noUserAgent?: boolean;
  merchant?: TestMerchant;
}

/** A signed WeChat Pay APIv3 client for tests. */
export class TestClient {
  constructor(
    readonly baseUrl: string,
    readonly merchant: TestMerchant,
    readonly now: () => number = Date.now,
  ) {}

  async request(method: string, url: string, body?: unknown, options: RequestOptions = {}): Promise<TestResponse> {
    const payload = options.raw ?? (body === undefined ? "" : JSON.stringify(body));
    const bodyLine = options.tamperSignedBody ?? options.signedBody ?? (typeof payload === "string" ? payload : "");
    const headers: Record<string, string> = {
      // fetch adds its own defaults for absent headers; an empty value is how a test removes them
      Accept: options.noAccept ? "" : "application/json",
      "User-Agent": options.noUserAgent ? "" : "wxcoupon-simulator-tests/1.0",
      ...(payload !== "" && typeof payload === "string" ? { "Content-Type": "application/json" } : {}),
      ...(options.noAuth
        ? {}
        : {
            Authorization: authorization(options.merchant ?? this.merchant, method, url, bodyLine, {
              timestamp: options.timestamp ?? Math.floor(this.now() / 1000),
              ...(options.serialNo ? { serialNo: options.serialNo } : {}),
              ...(options.mchid ? { mchid: options.mchid } : {}),
            }),
          }),
      ...options.headers,
    };
    const response = await fetch(this.baseUrl + url, {
      method,
      headers,
      ...(payload === "" ? {} : { body: payload }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  get(url: string, options?: RequestOptions) {
    return this.request("GET", url, undefined, options);
  }

  post(url: string, body: unknown, options?: RequestOptions) {
    return this.request("POST", url, body, options);
  }
}

/** Calls a `/_simulator/*` control endpoint (no signature). */
export async function control(baseUrl: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}/_simulator${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: control answers are plain JSON
  return { status: response.status, json: (await response.json()) as any };
}
