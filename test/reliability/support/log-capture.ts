import { createPrivateKey, type KeyObject } from "node:crypto";
import type { Readable } from "node:stream";
import type { LocalStack } from "#local/stack/start-local-stack.js";

/**
 * Captures everything the stack prints in this test process (Powertools writes JSON lines to process.stdout/stderr),
 * the stack's `log` callback (gateway, poller, simulator) and any child process streams, so a test can prove that no
 * line carries key material. Captured output is kept, not echoed: vitest's own output goes through its RPC channel.
 */
export class LogCapture {
  private readonly chunks: string[] = [];
  private readonly restores: Array<() => void> = [];
  bytes = 0;

  /** Starts intercepting process.stdout/stderr. Call `stop()` in afterAll. */
  start(): this {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      // biome-ignore lint/suspicious/noExplicitAny: write has several overloads; we only record the first argument.
      (stream as any).write = (chunk: unknown, ...rest: unknown[]) => {
        this.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        callback?.();
        return true;
      };
      this.restores.push(() => {
        stream.write = original;
      });
    }
    return this;
  }

  /** For `startLocalStack({ log })`. */
  readonly sink = (line: string): void => this.push(`${line}\n`);

  /** Records a child process's output stream. */
  follow(stream: Readable | null | undefined): void {
    stream?.on("data", (chunk: Buffer) => this.push(chunk.toString("utf8")));
  }

  stop(): void {
    for (const restore of this.restores.splice(0)) restore();
  }

  text(): string {
    return this.chunks.join("");
  }

  lineCount(): number {
    return this.text()
      .split("\n")
      .filter((l) => l.trim() !== "").length;
  }

  private push(text: string): void {
    this.bytes += text.length;
    this.chunks.push(text);
  }
}

export interface SecretLeak {
  secret: string;
  line: string;
}

/** Fragments that must never appear in a log line: private key bodies (PEM lines, base64, hex), the APIv3 key, the token. */
export function secretNeedles(stack: LocalStack): { name: string; needle: string }[] {
  const keys = stack.simulator.config.keys;
  const needles: { name: string; needle: string }[] = [{ name: "PEM private key header", needle: "PRIVATE KEY-----" }];
  const addKey = (name: string, key: KeyObject | string) => {
    const object = typeof key === "string" ? createPrivateKey(key) : key;
    const pem = object.export({ format: "pem", type: "pkcs8" }).toString();
    const der = object.export({ format: "der", type: "pkcs8" });
    const lines = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
    // Full 64-character PEM lines (JSON-escaped logs keep them intact between the \n escapes).
    for (const l of lines.filter((l) => l.length >= 48)) needles.push({ name: `${name} (PEM line)`, needle: l });
    const b64 = der.toString("base64");
    const mid = Math.floor(b64.length / 2);
    needles.push({ name: `${name} (base64)`, needle: b64.slice(mid, mid + 40) });
    needles.push({ name: `${name} (base64url)`, needle: der.toString("base64url").slice(mid, mid + 40) });
    const hex = der.toString("hex");
    needles.push({ name: `${name} (hex)`, needle: hex.slice(hex.length / 2, hex.length / 2 + 64) });
  };
  addKey("merchant private key", keys.merchantPrivateKeyPem);
  addKey("simulator platform private key", keys.platformPrivateKey);
  addKey("simulator WeChat Pay private key", keys.wechatpayPrivateKey);
  needles.push({ name: "APIv3 key", needle: keys.apiv3Key });
  needles.push({ name: "APIv3 key (base64)", needle: Buffer.from(keys.apiv3Key).toString("base64").slice(0, 40) });
  needles.push({ name: "local bearer token", needle: stack.token });
  return needles;
}

/** Every captured line that contains a secret fragment (one entry per line and secret). */
export function findLeaks(capture: LogCapture, stack: LocalStack): SecretLeak[] {
  const needles = secretNeedles(stack);
  const leaks: SecretLeak[] = [];
  for (const line of capture.text().split("\n")) {
    for (const { name, needle } of needles) {
      if (!line.includes(needle)) continue;
      // The report must not print the secret either: show the line with every known fragment masked.
      const masked = needles.reduce((l, n) => l.split(n.needle).join(`<${n.name}>`), line);
      leaks.push({ secret: name, line: masked.slice(0, 300) });
    }
  }
  return leaks;
}
