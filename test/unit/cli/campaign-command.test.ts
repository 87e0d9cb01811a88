import { createHash, createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { type CampaignCommandDeps, runCampaignCommand } from "#shared/cli/campaign-command.js";
import { formatProgress, ProgressReporter, RateMeter } from "#shared/cli/campaign-progress.js";
import type { CliIo } from "#shared/cli/cli-io.js";
import { main } from "#shared/cli/main.js";
import { readOpenidLines } from "#shared/cli/openid-file.js";
import { ApiUnreachableError } from "#shared/cli/service-client.js";
import { regionOfApiUrl, signRequest } from "#shared/cli/sigv4-signer.js";
import { readUploadState, stateFileOf, writeUploadState } from "#shared/cli/upload-state.js";

const dir = mkdtempSync(join(tmpdir(), "wxcoupon-campaign-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function csv(content: string): string {
  const path = join(dir, `openids-${fileCount++}.csv`);
  writeFileSync(path, content);
  return path;
}

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  headers: Record<string, string>;
}

/** The campaign API in a few lines: chunked campaigns, COMPLETED once sealed, one failure per "fail-" openid. */
class FakeApi {
  readonly calls: Call[] = [];
  readonly chunks = new Map<number, string[]>();
  sealed = false;
  failNextChunkWith: number | undefined;

  fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : undefined;
    this.calls.push({
      method: init?.method ?? "GET",
      path: url.pathname + url.search,
      body,
      headers: init?.headers as Record<string, string>,
    });
    const reply = (status: number, value: unknown) => new Response(JSON.stringify(value), { status });
    const route = `${init?.method} ${url.pathname}`;
    if (route === "POST /campaigns") return reply(202, { campaign_id: body!.campaign_id, total: 0, sealed: false });
    if (/^POST \/campaigns\/[^/]+\/chunks$/.test(route)) {
      if (this.failNextChunkWith) {
        const status = this.failNextChunkWith;
        this.failNextChunkWith = undefined;
        return reply(status, { code: "X", message: "injected" });
      }
      this.chunks.set(body!.chunk_no as number, body!.openids as string[]);
      if (body!.last) this.sealed = true;
      return reply(202, {
        accepted: (body!.openids as string[]).length,
        replayed: false,
        total: 0,
        sealed: this.sealed,
      });
    }
    const all = [...this.chunks.values()].flat();
    if (/^GET \/campaigns\/[^/]+$/.test(route)) {
      const failed = all.filter((o) => o.startsWith("fail-")).length;
      return reply(200, {
        campaign_id: url.pathname.split("/")[2],
        stock_id: "123",
        state: this.sealed ? "COMPLETED" : "SENDING",
        total: all.length,
        sent: all.length - failed,
        failed,
        pending: 0,
        failures_by_code: failed ? { NOT_ENOUGH: failed } : {},
        rate_per_second: 100,
        sealed: this.sealed,
        chunks_received: this.chunks.size,
        created_at: "2030-01-01T00:00:00.000Z",
        updated_at: "2030-01-01T00:00:10.000Z",
      });
    }
    if (/^GET \/campaigns\/[^/]+\/failures$/.test(route)) {
      // Two pages, to follow the cursor.
      const failures = all
        .filter((o) => o.startsWith("fail-"))
        .map((o) => ({ openid: o, out_request_no: `k_${o}`, code: "NOT_ENOUGH" }));
      return url.searchParams.get("cursor")
        ? reply(200, { data: failures.slice(1) })
        : reply(200, { data: failures.slice(0, 1), ...(failures.length > 1 ? { cursor: "p2" } : {}) });
    }
    return reply(404, { code: "ROUTE_NOT_FOUND", message: route });
  };

  chunkPosts(): Call[] {
    return this.calls.filter((c) => c.path.endsWith("/chunks"));
  }
}

let api: FakeApi;
let progressText: string;
let deps: CampaignCommandDeps;
beforeEach(() => {
  api = new FakeApi();
  progressText = "";
  deps = {
    fetch: api.fetch,
    sleep: async () => {},
    pollIntervalMs: 0,
    cwd: dir,
    progress: { isTTY: false, write: (t) => (progressText += t) },
  };
});

const send = (file: string, ...extra: string[]) =>
  runCampaignCommand(
    ["send", "--stock", "123", "--file", file, "--api", "http://api.test", "--token", "t0k", ...extra],
    capture(),
    deps,
  );

describe("wxcoupon campaign send", () => {
  it("streams the file in numbered chunks, the final one marked last, and writes the failures CSV", async () => {
    const ids = Array.from({ length: 25 }, (_, i) => (i === 7 || i === 20 ? `fail-${i}` : `o-${i}`));
    const file = csv(`openid\n${ids.join("\n")}\n`);
    const io = capture();
    const code = await runCampaignCommand(
      ["send", "--stock", "123", "--file", file, "--api", "http://api.test/", "--token", "t0k", "--chunk-size", "10"],
      io,
      deps,
    );
    expect(code).toBe(3); // two recipients failed
    expect(api.chunkPosts().map((c) => [c.body!.chunk_no, (c.body!.openids as string[]).length, c.body!.last])).toEqual(
      [
        [0, 10, undefined],
        [1, 10, undefined],
        [2, 5, true],
      ],
    );
    expect([...api.chunks.values()].flat()).toEqual(ids);
    const open = api.calls[0]!;
    expect(open).toMatchObject({ method: "POST", path: "/campaigns", body: { stock_id: "123", chunked: true } });
    expect(open.body!.campaign_id).toMatch(/^csv-[0-9a-f]{40}$/);
    expect(open.headers.authorization).toBe("Bearer t0k");
    expect(readFileSync(`${file}.failures.csv`, "utf8")).toBe(
      "openid,out_request_no,code\nfail-7,k_fail-7,NOT_ENOUGH\nfail-20,k_fail-20,NOT_ENOUGH\n",
    );
    expect(readUploadState(stateFileOf(file))).toMatchObject({ chunkSize: 10, chunksTotal: 3, chunksAcked: 3 });
    const summary = io.stdout.join("\n");
    expect(summary).toMatch(/State\s+COMPLETED/);
    expect(summary).toMatch(/Sent\s+23/);
    expect(summary).toMatch(/Failed\s+2/);
    expect(summary).toMatch(/NOT_ENOUGH\s+2/);
    expect(progressText).toMatch(/sent 23\/25 {2}failed 2 .*ETA/);
    expect(progressText).not.toContain("\r");
  });

  it("derives the same campaign id from the same stock and openids, and another from other openids", async () => {
    await send(csv("a\nb\n"));
    await send(csv("openid\r\n a \r\n\r\nb\r\n"));
    await send(csv("a\nc\n"));
    const ids = api.calls.filter((c) => c.path === "/campaigns").map((c) => c.body!.campaign_id);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it("resumes after the chunks the state file says were acknowledged", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `o-${i}`);
    const file = csv(ids.join("\n"));
    await send(file, "--chunk-size", "10");
    const campaignId = readUploadState(stateFileOf(file))!.campaignId;
    writeUploadState(stateFileOf(file), { ...readUploadState(stateFileOf(file))!, chunksAcked: 2, sealed: false });
    // The service kept chunks 0 and 1; the run was killed before chunk 2 was acknowledged.
    api.chunks.delete(2);
    api.sealed = false;
    api.calls.length = 0;
    const io = capture();
    expect(
      await runCampaignCommand(
        ["send", "--stock", "123", "--file", file, "--api", "http://api.test", "--token", "t"],
        io,
        deps,
      ),
    ).toBe(0);
    expect(api.chunkPosts().map((c) => c.body!.chunk_no)).toEqual([2]);
    expect(io.stderr.join("\n")).toContain(`resuming campaign ${campaignId}: chunks 0-1 of 3 were acknowledged`);
  });

  it("refuses to resume with another chunk size (the recipients' keys depend on it)", async () => {
    const file = csv("a\nb\nc\n");
    await send(file, "--chunk-size", "2");
    writeUploadState(stateFileOf(file), { ...readUploadState(stateFileOf(file))!, chunksAcked: 1 });
    const code = await main(
      [
        "campaign",
        "send",
        "--stock",
        "123",
        "--file",
        file,
        "--api",
        "http://api.test",
        "--token",
        "t",
        "--chunk-size",
        "3",
      ],
      capture(),
      { campaign: deps },
    );
    expect(code).toBe(2);
    expect(api.calls.filter((c) => c.path.endsWith("/chunks"))).toHaveLength(2); // the first run's two, nothing more
  });

  it("reports lines that are not openids with their numbers and never sends them", async () => {
    const file = csv(`openid\no-1\nnot an openid\n\n"o-2"\n${"x".repeat(129)}\no-3,extra\n`);
    const io = capture();
    await runCampaignCommand(
      ["send", "--stock", "123", "--file", file, "--api", "http://api.test", "--token", "t"],
      io,
      deps,
    );
    expect([...api.chunks.values()].flat()).toEqual(["o-1", "o-2"]);
    const errors = io.stderr.join("\n");
    expect(errors).toContain('line 3: not an openid, skipped: "not an openid"');
    expect(errors).toContain("line 6: not an openid");
    expect(errors).toContain('line 7: not an openid, skipped: "o-3,extra"');
    expect(io.stdout.join("\n")).toMatch(/Lines skipped\s+3/);
  });

  it("retries a chunk the API failed with 503 and posts it again under the same number", async () => {
    const file = csv("a\nb\nc\n");
    api.failNextChunkWith = 503;
    expect(await send(file, "--chunk-size", "2")).toBe(0);
    expect(api.chunkPosts().map((c) => c.body!.chunk_no)).toEqual([0, 0, 1]);
  });

  it("gives up with a clear error when the API cannot be reached", async () => {
    deps.fetch = async () => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    };
    const io = capture();
    const error = await runCampaignCommand(
      ["send", "--stock", "123", "--file", csv("a\n"), "--api", "http://127.0.0.1:9", "--token", "t"],
      io,
      deps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiUnreachableError);
    expect((error as Error).message).toMatch(
      /cannot reach the wxcoupon API at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/,
    );
    expect(io.stderr.some((l) => l.includes("retrying in"))).toBe(true);
  });

  it("exits 1 with the message alone when the API cannot be reached", async () => {
    const io = capture();
    const refusing: typeof fetch = async () => {
      throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
    };
    const argv = ["campaign", "status", "c1", "--api", "http://127.0.0.1:9", "--token", "t"];
    expect(await main(argv, io, { campaign: { ...deps, fetch: refusing } })).toBe(1);
    expect(io.stderr.at(-1)).toMatch(
      /^error: cannot reach the wxcoupon API at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/,
    );
    expect(io.stderr.join("\n")).not.toMatch(/\n\s+at /);
  });

  it("answers bad arguments with usage and exit 2, without a stack trace", async () => {
    const bad = [
      ["campaign"],
      ["campaign", "launch"],
      ["campaign", "send", "--file", csv("a")],
      ["campaign", "send", "--stock", "12a", "--file", csv("a")],
      ["campaign", "send", "--stock", "1", "--file", join(dir, "missing.csv")],
      ["campaign", "send", "--stock", "1", "--file", csv("a"), "--rate", "0"],
      ["campaign", "send", "--stock", "1", "--file", csv("a"), "--chunk-size", "10001"],
      ["campaign", "send", "--stock", "1", "--file", csv("a"), "--campaign-id", "bad id"],
      ["campaign", "send", "--stock", "1", "--file", csv("a"), "--bogus"],
      ["campaign", "status"],
      ["campaign", "status", "bad/id"],
    ];
    for (const argv of bad) {
      const io = capture();
      expect(await main(argv, io), argv.join(" ")).toBe(2);
      expect(io.stderr.join("\n")).toMatch(/^error: .*\n\nusage: wxcoupon campaign/s);
      expect(io.stderr.join("\n")).not.toMatch(/\n\s+at /);
    }
  });

  it("takes the API and token from the local stack file by default", async () => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    mkdirSync(join(cwd, ".local"));
    writeFileSync(
      join(cwd, ".local", "stack.json"),
      JSON.stringify({ api_url: "http://api.test", token: "from-file" }),
    );
    const io = capture();
    expect(await runCampaignCommand(["status", "c1"], io, { ...deps, cwd })).toBe(0);
    expect(api.calls[0]).toMatchObject({ path: "/campaigns/c1", headers: { authorization: "Bearer from-file" } });
    expect(io.stdout.join("\n")).toMatch(/Campaign\s+c1/);
  });

  it("signs requests with SigV4 when there is no token (a deployed stack)", async () => {
    const io = capture();
    const code = await runCampaignCommand(
      ["status", "c1", "--api", "https://abc123.execute-api.ap-east-1.amazonaws.com", "--json"],
      io,
      { ...deps, credentials: async () => ({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" }) },
    );
    expect(code).toBe(0);
    expect(api.calls[0]!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-east-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    expect(JSON.parse(io.stdout.join("\n"))).toMatchObject({ campaign_id: "c1" });
  });
});

describe("SigV4 signing (execute-api)", () => {
  const credentials = {
    accessKeyId: "AKIDEXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    sessionToken: "session-token",
  };
  const now = new Date("2030-05-20T05:29:35.000Z");

  /** An independent SigV4 (AWS's documented algorithm), to check the library's answer against. */
  function expectedSignature(request: { method: string; url: URL; headers: Record<string, string>; body: string }): {
    signedHeaders: string;
    signature: string;
  } {
    const sha256 = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
    const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
    const encode = (s: string) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const headers = Object.entries(request.headers)
      .map(([k, v]) => [k.toLowerCase(), v.trim()] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const signedHeaders = headers.map(([k]) => k).join(";");
    const query = [...request.url.searchParams]
      .map(([k, v]) => `${encode(k)}=${encode(v)}`)
      .sort()
      .join("&");
    const path = request.url.pathname
      .split("/")
      .map((segment) => encode(decodeURIComponent(segment)))
      .map(encode)
      .join("/");
    const canonical = [
      request.method,
      path,
      query,
      `${headers.map(([k, v]) => `${k}:${v}`).join("\n")}\n`,
      signedHeaders,
      sha256(request.body),
    ].join("\n");
    const scope = "20300520/ap-east-1/execute-api/aws4_request";
    const toSign = ["AWS4-HMAC-SHA256", "20300520T052935Z", scope, sha256(canonical)].join("\n");
    let key = hmac(`AWS4${credentials.secretAccessKey}`, "20300520");
    for (const part of ["ap-east-1", "execute-api", "aws4_request"]) key = hmac(key, part);
    return { signedHeaders, signature: createHmac("sha256", key).update(toSign, "utf8").digest("hex") };
  }

  it("produces AWS's signature for a POST with a body and temporary credentials, at a fixed clock", async () => {
    const url = new URL("https://abc123.execute-api.ap-east-1.amazonaws.com/campaigns/c-1/chunks");
    const body = JSON.stringify({ chunk_no: 0, openids: ["o1", "o2"] });
    const headers = await signRequest(
      { method: "POST", url, headers: { "Content-Type": "application/json" }, body },
      { region: "ap-east-1", credentials, now },
    );
    expect(headers["x-amz-date"]).toBe("20300520T052935Z");
    expect(headers["x-amz-security-token"]).toBe("session-token");
    expect(headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(body).digest("hex"));
    expect(headers).not.toHaveProperty("host");
    const expected = expectedSignature({
      method: "POST",
      url,
      body,
      headers: {
        "content-type": "application/json",
        host: url.host,
        "x-amz-content-sha256": headers["x-amz-content-sha256"]!,
        "x-amz-date": "20300520T052935Z",
        "x-amz-security-token": "session-token",
      },
    });
    expect(expected.signedHeaders).toBe("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    expect(headers.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20300520/ap-east-1/execute-api/aws4_request, ` +
        `SignedHeaders=${expected.signedHeaders}, Signature=${expected.signature}`,
    );
  });

  it("signs the query string of a GET, and changes the signature when anything signed changes", async () => {
    const url = new URL("https://abc123.execute-api.ap-east-1.amazonaws.com/campaigns/c-1/failures?cursor=eyJw%3D");
    const { sessionToken: _, ...longTerm } = credentials;
    const headers = await signRequest(
      { method: "GET", url, headers: {} },
      { region: "ap-east-1", credentials: longTerm, now },
    );
    expect(headers).not.toHaveProperty("x-amz-security-token");
    const expected = expectedSignature({
      method: "GET",
      url,
      body: "",
      headers: {
        host: url.host,
        "x-amz-content-sha256": headers["x-amz-content-sha256"]!,
        "x-amz-date": "20300520T052935Z",
      },
    });
    expect(headers.authorization).toContain(`SignedHeaders=${expected.signedHeaders}, Signature=${expected.signature}`);
    const later = await signRequest(
      { method: "GET", url, headers: {} },
      { region: "ap-east-1", credentials: longTerm, now: new Date(now.getTime() + 1_000) },
    );
    expect(later.authorization).not.toBe(headers.authorization);
  });

  it("reads the region from an execute-api URL", () => {
    expect(regionOfApiUrl(new URL("https://a1b2c3.execute-api.cn-north-1.amazonaws.com.cn/"))).toBe("cn-north-1");
    expect(regionOfApiUrl(new URL("https://api.example.com/"))).toBeUndefined();
  });
});

describe("openid files and progress", () => {
  it("streams lines with their numbers: BOM, CRLF, header, blanks, quotes", async () => {
    const file = csv('\uFEFFOpenID\r\n\r\n  o-1  \r\n"o-2"\r\nbad line\r\n');
    const lines = [];
    for await (const line of readOpenidLines(file)) lines.push(line);
    expect(lines).toEqual([
      { kind: "openid", lineNo: 3, openid: "o-1" },
      { kind: "openid", lineNo: 4, openid: "o-2" },
      { kind: "bad", lineNo: 5, text: "bad line" },
    ]);
  });

  it("draws the line in place on a terminal, with rate and ETA from the samples", () => {
    let t = 0;
    let out = "";
    const reporter = new ProgressReporter({ isTTY: true, write: (s) => (out += s) }, () => t);
    const status = (sent: number) => ({
      campaign_id: "c",
      stock_id: "1",
      state: "SENDING" as const,
      total: 1_000,
      sent,
      failed: 0,
      pending: 1_000 - sent,
      failures_by_code: {},
      rate_per_second: 100,
      created_at: "",
      updated_at: "",
    });
    reporter.update(status(0));
    t = 2_000;
    reporter.update(status(200));
    reporter.finish();
    expect(out.startsWith("\r[")).toBe(true);
    expect(out).toContain("sent 200/1000  failed 0  100/s  ETA 8s");
    expect(out.endsWith("\n")).toBe(true);
    const meter = new RateMeter();
    expect(formatProgress(status(0), meter)).toContain("ETA ?");
  });
});
