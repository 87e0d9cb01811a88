import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeSecretsManager {
  endpoint: string;
  /** Creates or replaces a secret's string value. */
  putSecret(id: string, value: string): void;
  deleteSecret(id: string): void;
  /** Number of GetSecretValue calls answered, for cache assertions. */
  readonly getCount: number;
  stop(): Promise<void>;
}

/**
 * A Secrets Manager stand-in (no emulator exists on npm): the JSON 1.1 protocol for GetSecretValue, plus
 * CreateSecret / PutSecretValue so tooling can seed it. Secrets are kept in memory and never logged. Selected with
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`; secret ids match by name or by the fake ARN it reports.
 */
export async function startFakeSecretsManager(
  options: { region?: string; secrets?: Record<string, string> } = {},
): Promise<FakeSecretsManager> {
  const region = options.region ?? "us-east-1";
  const secrets = new Map<string, { value: string; version: number }>(
    Object.entries(options.secrets ?? {}).map(([k, v]) => [k, { value: v, version: 1 }]),
  );
  const arnOf = (name: string) => `arn:aws:secretsmanager:${region}:000000000000:secret:${name}`;
  const nameOf = (id: string) => (id.startsWith("arn:aws:secretsmanager:") ? (id.split(":secret:")[1] ?? id) : id);
  let getCount = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => {
        res.statusCode = status;
        res.setHeader("content-type", "application/x-amz-json-1.1");
        res.end(JSON.stringify(body));
      };
      const fail = (type: string, message: string) => reply(400, { __type: type, message });
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      } catch {
        return fail("SerializationException", "request body is not JSON");
      }
      const id = typeof input.SecretId === "string" ? input.SecretId : typeof input.Name === "string" ? input.Name : "";
      const name = nameOf(id);
      const stored = secrets.get(name);
      const meta = { ARN: arnOf(name), Name: name };
      switch (operation) {
        case "GetSecretValue":
          if (stored === undefined)
            return fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
          getCount++;
          return reply(200, {
            ...meta,
            SecretString: stored.value,
            VersionId: `v${stored.version}`,
            VersionStages: ["AWSCURRENT"],
            CreatedDate: Date.now() / 1000,
          });
        case "CreateSecret":
          if (stored !== undefined) return fail("ResourceExistsException", `the secret ${name} already exists.`);
          if (typeof input.SecretString !== "string")
            return fail("InvalidParameterException", "SecretString is required");
          secrets.set(name, { value: input.SecretString, version: 1 });
          return reply(200, { ...meta, VersionId: "v1" });
        case "PutSecretValue": {
          if (stored === undefined)
            return fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
          if (typeof input.SecretString !== "string")
            return fail("InvalidParameterException", "SecretString is required");
          const version = stored.version + 1;
          secrets.set(name, { value: input.SecretString, version });
          return reply(200, { ...meta, VersionId: `v${version}`, VersionStages: ["AWSCURRENT"] });
        }
        case "DescribeSecret":
          if (stored === undefined)
            return fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
          return reply(200, meta);
        default:
          return fail("UnknownOperationException", `operation ${operation || "(none)"} is not supported by the fake`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    putSecret: (id, value) => {
      const name = nameOf(id);
      secrets.set(name, { value, version: (secrets.get(name)?.version ?? 0) + 1 });
    },
    deleteSecret: (id) => {
      secrets.delete(nameOf(id));
    },
    get getCount() {
      return getCount;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
