import http, { type IncomingHttpHeaders } from "node:http";
import https from "node:https";
import { TransportError } from "../errors.js";

/** One attempt on the wire: what the client has signed, exactly as it will be sent. */
export interface HttpExchange {
  method: "GET" | "POST";
  url: URL;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Covers connect, answer and body. */
  timeoutMs: number;
}

/** Header names in lower case, as node:http gives them. */
export type ResponseHeaders = Readonly<IncomingHttpHeaders>;

export interface HttpAnswer {
  status: number;
  headers: ResponseHeaders;
  bytes: Buffer;
}

/** Sends one exchange; fails only with TransportError (`timedOut` when the time ran out). */
export type HttpSend = (exchange: HttpExchange) => Promise<HttpAnswer>;

// Kept-alive sockets, closed after 4 s idle (undici's default, which fetch used): WeChat's idle timeout is not
// documented, and reusing a socket it, a NAT or a load balancer has closed costs a failed attempt, retried only when
// the request is idempotent. No cap on sockets: time queued for one would count against the attempt's timeout; the
// callers bound concurrency themselves (rate governor, batch size).
const AGENT_OPTIONS = { keepAlive: true, timeout: 4_000 };
const agents = { http: new http.Agent(AGENT_OPTIONS), https: new https.Agent(AGENT_OPTIONS) };

/**
 * The default HttpSend: node:http(s) over kept-alive sockets. Chosen over fetch, which builds WHATWG streams, Headers
 * and an AbortSignal per request: that showed as CPU per sent coupon in `npm run bench` (figures in commit 4777161,
 * which made the switch), and the worker sends one request per coupon. Redirects are not followed: WeChat answers none.
 */
export const nodeHttpSend: HttpSend = (exchange) =>
  new Promise<HttpAnswer>((resolve, reject) => {
    const { method, url, body, timeoutMs } = exchange;
    const target = `${method} ${url.origin}${url.pathname}`;
    const secure = url.protocol === "https:";
    let settled = false;
    let request: http.ClientRequest | undefined;
    const timer = setTimeout(() => {
      settle(new TransportError(`${target}: no complete answer within ${timeoutMs} ms`, { timedOut: true }));
      request?.destroy();
    }, timeoutMs);
    const settle = (error: TransportError | undefined, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(answer!);
    };
    const headers = body ? { ...exchange.headers, "Content-Length": String(body.length) } : exchange.headers;
    try {
      request = (secure ? https : http).request(url, { method, headers, agent: secure ? agents.https : agents.http });
    } catch (error) {
      // A header node refuses (CR/LF in a value): nothing went on the wire.
      settle(networkError(target, error as Error));
      return;
    }
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        settle(undefined, {
          status: response.statusCode ?? 0,
          headers: response.headers,
          bytes: Buffer.concat(chunks),
        }),
      );
      response.on("error", (error) => settle(networkError(target, error)));
      // The socket closed before the body's end: no 'end' will come.
      response.on("close", () => {
        if (!response.complete) settle(new TransportError(`${target}: connection closed before the answer's end`));
      });
    });
    request.on("error", (error) => settle(networkError(target, error)));
    request.end(body);
  });

/** The error's code (ECONNREFUSED, ENOTFOUND, ECONNRESET…) says what happened. */
function networkError(target: string, error: Error): TransportError {
  const code = (error as NodeJS.ErrnoException).code;
  return new TransportError(`${target}: ${code ? `network error ${code}` : `network error: ${error.message}`}`, {
    cause: error,
  });
}

/** An answer whose body is read as it arrives (file downloads). */
export interface HttpStreamAnswer {
  status: number;
  headers: ResponseHeaders;
  /** Read it once; breaking out of the loop closes the connection. A stalled or cut body throws TransportError. */
  body: AsyncIterable<Buffer>;
}

/**
 * Sends one exchange and resolves as soon as the answer's headers arrive; `timeoutMs` bounds the wait for the headers
 * and then every silence between two chunks of the body, so a file of any size streams as long as bytes keep coming.
 */
export type HttpStreamSend = (exchange: HttpExchange) => Promise<HttpStreamAnswer>;

/** The default HttpStreamSend: node:http(s) over the same kept-alive agents as nodeHttpSend. */
export const nodeHttpStreamSend: HttpStreamSend = (exchange) =>
  new Promise<HttpStreamAnswer>((resolve, reject) => {
    const { method, url, body, timeoutMs } = exchange;
    const target = `${method} ${url.origin}${url.pathname}`;
    const secure = url.protocol === "https:";
    let request: http.ClientRequest;
    const headers = body ? { ...exchange.headers, "Content-Length": String(body.length) } : exchange.headers;
    try {
      request = (secure ? https : http).request(url, { method, headers, agent: secure ? agents.https : agents.http });
    } catch (error) {
      reject(networkError(target, error as Error));
      return;
    }
    let answered = false;
    let stalled: TransportError | undefined;
    // Socket inactivity: before the headers it fails the call, afterwards the body's iteration.
    request.setTimeout(timeoutMs, () => {
      stalled = new TransportError(`${target}: nothing received for ${timeoutMs} ms`, { timedOut: true });
      if (!answered) reject(stalled);
      request.destroy(stalled);
    });
    request.on("response", (response) => {
      answered = true;
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body: bodyOf(response) });
    });
    request.on("error", (error) => {
      if (!answered) reject(error instanceof TransportError ? error : networkError(target, error));
    });
    request.end(body);

    async function* bodyOf(response: http.IncomingMessage): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of response) yield chunk as Buffer;
      } catch (error) {
        throw (
          stalled ??
          new TransportError(`${target}: the answer broke off: ${(error as Error).message}`, { cause: error })
        );
      }
      if (stalled) throw stalled;
      // The socket closed before the body's end: node ends the stream without an error.
      if (!response.complete) throw new TransportError(`${target}: connection closed before the answer's end`);
    }
  });
