import { Agent, createServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";

/** DynamoDB operations that change state (X-Amz-Target `DynamoDB_20120810.<op>`). */
export const WRITE_OPERATIONS = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];

export interface StoreFaults {
  /** Share of matching requests that fail, 0 … 1. */
  rate: number;
  /**
   * `before`: answer 500 without forwarding (the write does not happen); `after`: forward, let the write happen, then
   * answer 500 (the answer is lost, as when a connection drops); `mix`: either, 50/50. `reset` mode cuts the socket
   * instead of answering 500.
   */
  phase?: "before" | "after" | "mix";
  mode?: "500" | "reset";
  /** Operations the faults apply to (default: the write operations). */
  operations?: string[];
}

export interface DynamoDbFaultProxy {
  url: string;
  setFaults(faults: StoreFaults): void;
  readonly stats: { requests: number; injected: number; injectedBefore: number; injectedAfter: number };
  close(): Promise<void>;
}

/**
 * A tiny HTTP proxy in front of the DynamoDB stand-in that fails a share of requests the way DynamoDB and the
 * network do: a 500 InternalServerError (which the SDK retries) or a cut connection, before or after the write was
 * applied. Use it through `startLocalStack({ dynamodbEndpointWrapper })`, so only the handlers see the faults.
 */
export async function startDynamoDbFaultProxy(target: string): Promise<DynamoDbFaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let faults: Required<StoreFaults> = { rate: 0, phase: "mix", mode: "500", operations: WRITE_OPERATIONS };
  const stats = { requests: 0, injected: 0, injectedBefore: 0, injectedAfter: 0 };

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }>((resolve, reject) => {
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on("error", reject);
        },
      );
      out.on("error", reject);
      out.end(body);
    });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      stats.requests++;
      const body = Buffer.concat(chunks);
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      const fail = faults.rate > 0 && faults.operations.includes(operation) && Math.random() < faults.rate;
      const phase = faults.phase === "mix" ? (Math.random() < 0.5 ? "before" : "after") : faults.phase;
      const answerFault = () => {
        stats.injected++;
        if (faults.mode === "reset") {
          req.socket.destroy();
          return;
        }
        res.writeHead(500, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "fault-proxy" });
        res.end(
          JSON.stringify({
            __type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
            message: "Internal server error (injected by the reliability fault proxy)",
          }),
        );
      };
      try {
        if (fail && phase === "before") {
          stats.injectedBefore++;
          return answerFault();
        }
        const answer = await forward(req, body);
        if (fail) {
          stats.injectedAfter++;
          return answerFault();
        }
        const headers = { ...answer.headers };
        delete headers["transfer-encoding"];
        headers["content-length"] = String(answer.body.length);
        res.writeHead(answer.status, headers);
        res.end(answer.body);
      } catch {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setFaults(next) {
      faults = {
        rate: next.rate,
        phase: next.phase ?? "mix",
        mode: next.mode ?? "500",
        operations: next.operations ?? WRITE_OPERATIONS,
      };
    },
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
