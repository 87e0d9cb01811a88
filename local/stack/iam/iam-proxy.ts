import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { accessDenied, type Principal } from "./access-denied.js";
import { evaluate, type PolicyStatement } from "./evaluate.js";
import { authorizationsFor, type LocalArns, type ServiceName } from "./requests.js";

/** A local identity: the access key a function's SDK clients sign with, and the policies of its role. */
export interface LocalIdentity {
  principal: Principal;
  statements: readonly PolicyStatement[];
}

export interface IamProxyOptions {
  service: ServiceName;
  /** The stand-in's endpoint the proxy forwards allowed calls to. */
  target: string;
  arns: LocalArns;
  /** Access key id → identity. Calls signed with any other key (the stack's own setup, tests) pass unchecked. */
  identities: ReadonlyMap<string, LocalIdentity>;
  /** Every denial (action, resource, function), e.g. for the stack's log. */
  onDenied?: (denial: { functionName: string; action: string; resource: string }) => void;
}

export interface IamProxy {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * IAM at the service's front door, where AWS enforces it: each request is signed (SigV4) with the caller's access
 * key, the key names the identity, and the identity's policies decide before the service sees the call. Each function
 * in the local stack signs with its own key (function-host sets AWS_ACCESS_KEY_ID per function), so the handlers and
 * their adapters run unchanged. The signature itself is not verified: only which key signed.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-signed-request-examples.html
 */
export async function startIamProxy(options: IamProxyOptions): Promise<IamProxy> {
  const target = new URL(options.target);
  const server = createServer((req, res) => {
    readAll(req)
      .then((body) => {
        const identity = options.identities.get(accessKeyIdOf(req.headers.authorization, req.url));
        if (identity) {
          const operation =
            String(req.headers["x-amz-target"] ?? "")
              .split(".")
              .pop() ?? "";
          const parsed = options.service === "s3" ? {} : parseJson(body);
          const request = { method: req.method ?? "GET", url: req.url ?? "/" };
          for (const authorization of authorizationsFor(options.service, operation, parsed, options.arns, request)) {
            const decision = evaluate(identity.statements, {
              ...authorization,
              // The SDK talks HTTPS to AWS; the local hop is plain HTTP, so this key is stated, not observed.
              context: { "aws:SecureTransport": "true" },
            });
            if (decision.decision === "allow") continue;
            options.onDenied?.({ functionName: identity.principal.functionName, ...authorization });
            const denied = accessDenied(
              options.service,
              identity.principal,
              authorization.action,
              authorization.resource,
              decision.decision === "explicitDeny",
              options.arns.region,
            );
            res.writeHead(denied.status, { ...denied.headers, "content-length": Buffer.byteLength(denied.body) });
            res.end(denied.body);
            return;
          }
        }
        const upstream = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: target.host, "content-length": String(body.length) },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on("error", () => res.destroy());
        upstream.end(body);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, …` → AKID; for a presigned URL, the same from
 * its `X-Amz-Credential` query parameter.
 */
export function accessKeyIdOf(authorization: string | undefined, url?: string): string {
  const fromHeader = /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
  if (fromHeader) return fromHeader;
  const credential = url === undefined ? null : new URL(url, "http://local").searchParams.get("X-Amz-Credential");
  return credential?.split("/")[0] ?? "";
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString("utf8") || "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
