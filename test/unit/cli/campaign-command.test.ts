import { createHash, createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { CampaignCommandDeps } from "#shared/cli/api-access.js";
import { runCampaignCommand } from "#shared/cli/campaign-command.js";
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
  /** The service lost its campaigns (a local stack restarted without its data): 404 until a POST recreates one. */
  lost = false;
  /** Replaces the counters of GET /campaigns/{id} (poll = how many status reads came before): a stuck campaign. */
  override: ((poll: number) => { state: string; sent: number }) | undefined;
  polls = 0;

  lose(): void {
    this.lost = true;
    this.chunks.clear();
    this.sealed = false;
  }

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
    if (route === "POST /campaigns") {
      this.lost = false;
      return reply(202, { campaign_id: body!.campaign_id, total: 0, sealed: false });
    }
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
      if (this.lost) return reply(404, { code: "NOT_FOUND", message: "no campaign" });
      const failed = all.filter((o) => o.startsWith("fail-")).length;
      const stuck = this.override?.(this.polls++);
      if (stuck) {
        return reply(200, {
          campaign_id: url.pathname.split("/")[2],
          stock_id: "123",
          state: stuck.state,
          total: all.length,
          sent: stuck.sent,
          failed: 0,
          pending: all.length - stuck.sent,
          failures_by_code: {},
          rate_per_second: 100,
          sealed: this.sealed,
          chunks_received: this.chunks.size,
          created_at: "2030-01-01T00:00:00.000Z",
          updated_at: "2030-01-01T00:00:10.000Z",
        });
      }
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

/** A clock that only the command's own sleeps move: minutes of waiting pass in microseconds. */
function fakeClock() {
  const clock = { t: Date.parse("2030-01-01T00:00:00Z") };
  deps.now = () => clock.t;
  deps.sleep = async (ms) => {
    clock.t += ms;
  };
  deps.pollIntervalMs = 1_000;
  return clock;
}

const sendIo = async (file: string, ...extra: string[]) => {
  const io = capture();
  const code = await runCampaignCommand(
    ["send", "--stock", "123", "--file", file, "--api", "http://api.test", "--token", "t0k", ...extra],
    io,
    deps,
  );
  return { code, io, stdout: io.stdout.join("\n"), stderr: io.stderr.join("\n") };
};

describe("campaign send: a campaign the service no longer has", () => {
  it("exits 5 at once with the command that starts it again (token hidden), which then sends every chunk", async () => {
    const file = csv(Array.from({ length: 30 }, (_, i) => `o-${i}`).join("\n"));
    expect((await sendIo(file, "--chunk-size", "10")).code).toBe(0);
    const campaignId = readUploadState(stateFileOf(file))!.campaignId;
    api.lose();
    api.calls.length = 0;
    let sleeps = 0;
    deps.sleep = async () => {
      if (++sleeps > 100) throw new Error("polling a campaign the service does not have");
    };

    const lost = await sendIo(file, "--json");
    expect(lost.code).toBe(5);
    expect(lost.stderr).toContain(`no longer has campaign ${campaignId}`);
    expect(lost.stderr).toContain("3 of 3 chunks were acknowledged, the service holds none");
    const restart = /\n {2}(wxcoupon campaign send .*--restart)\n/.exec(lost.stderr)?.[1];
    expect(restart).toBe(
      `wxcoupon campaign send --stock 123 --file ${file} --api http://api.test --token <token> --json --restart`,
    );
    expect(`${lost.stderr}${lost.stdout}`).not.toContain("t0k");
    expect(JSON.parse(lost.stdout)).toMatchObject({ outcome: "campaign_lost", exit_code: 5, restart_command: restart });
    expect(api.chunkPosts()).toHaveLength(0);
    expect(api.calls.some((c) => c.method === "POST")).toBe(false); // nothing created behind the user's back

    const again = await sendIo(file, "--restart");
    expect(again.code).toBe(0);
    expect(api.chunkPosts().map((c) => c.body!.chunk_no)).toEqual([0, 1, 2]);
    expect(api.calls.find((c) => c.path === "/campaigns")!.body!.campaign_id).toBe(campaignId);
    expect(again.stdout).toMatch(/Sent\s+30/);
  });

  it("exits 5 when the service holds fewer chunks than were acknowledged", async () => {
    const file = csv(Array.from({ length: 30 }, (_, i) => `o-${i}`).join("\n"));
    await sendIo(file, "--chunk-size", "10");
    api.chunks.delete(1);
    api.chunks.delete(2);
    api.sealed = false;
    const run = await sendIo(file);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("3 of 3 chunks were acknowledged, the service holds 1");
  });

  it("exits 5 when the campaign disappears while the command waits for it", async () => {
    fakeClock();
    api.override = (poll) => {
      if (poll === 3) api.lost = true;
      return { state: "SENDING", sent: 0 };
    };
    const run = await sendIo(csv("a\nb\n"));
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("no longer has campaign");
  });

  it("starts afresh when the state file was written for another API", async () => {
    const file = csv("a\nb\nc\n");
    await sendIo(file, "--chunk-size", "1");
    writeUploadState(stateFileOf(file), { ...readUploadState(stateFileOf(file))!, apiUrl: "http://other.test" });
    api.calls.length = 0;
    const run = await sendIo(file, "--chunk-size", "1");
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("was for the API at http://other.test");
    expect(api.chunkPosts().map((c) => c.body!.chunk_no)).toEqual([0, 1, 2]);
  });
});

describe("campaign send: nothing moves", () => {
  it("warns once per stall with what the service reports, and keeps waiting without --stall-timeout", async () => {
    fakeClock();
    // Stuck for 100 polls (100 s), moves once, stuck again for 100 s, then completes.
    api.override = (poll) =>
      poll < 100
        ? { state: "SENDING", sent: 0 }
        : poll < 200
          ? { state: "SENDING", sent: 1 }
          : { state: "COMPLETED", sent: 2 };
    const run = await sendIo(csv("a\nb\n"));
    expect(run.code).toBe(0);
    const warnings = run.io.stderr.filter((l) => l.startsWith("warning: no progress"));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^warning: no progress for 1m00s; the service reports state SENDING, sent 0\/2, failed 0, pending 2, 1 chunks received, last change 2030-01-01T00:00:10\.000Z\. Still waiting \(--stall-timeout T gives up after T\)/,
    );
    expect(warnings[1]).toContain("sent 1/2");
  });

  it("gives up with exit 4 after --stall-timeout, still writing the failures file", async () => {
    const clock = fakeClock();
    const started = clock.t;
    api.override = () => ({ state: "SENDING", sent: 0 });
    const file = csv("a\nfail-b\n");
    const run = await sendIo(file, "--stall-timeout", "5m", "--json");
    expect(run.code).toBe(4);
    expect(clock.t - started).toBeGreaterThanOrEqual(300_000);
    expect(clock.t - started).toBeLessThan(302_000);
    expect(run.io.stderr.filter((l) => l.startsWith("warning: no progress"))).toHaveLength(1);
    expect(run.stderr).toMatch(/error: no progress for 5m00s \(--stall-timeout 5m\): giving up; the service reports/);
    expect(run.stderr).toContain("The campaign was not cancelled");
    expect(readFileSync(`${file}.failures.csv`, "utf8")).toBe(
      "openid,out_request_no,code\nfail-b,k_fail-b,NOT_ENOUGH\n",
    );
    expect(JSON.parse(run.stdout)).toMatchObject({ outcome: "stalled", exit_code: 4, failures_rows: 1 });
  });

  it("refuses a --stall-timeout that is not a duration", async () => {
    for (const bad of ["0", "5x", "1.5m", "m"]) {
      const io = capture();
      const argv = ["campaign", "send", "--stock", "1", "--file", csv("a"), "--stall-timeout", bad];
      expect(await main(argv, io), bad).toBe(2);
      expect(io.stderr[0]).toContain("--stall-timeout must be a duration");
    }
  });
});

describe("campaign send: failed recipients", () => {
  it("exits 3 when some failed, says how to send them again, and --allow-failures exits 0", async () => {
    const file = csv("o-1\nfail-2\nfail-3\n");
    const run = await sendIo(file);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain(
      `2 recipients failed (exit 3; --allow-failures exits 0). To send them again:\n  wxcoupon campaign send --stock 123 --api http://api.test --token <token> --file ${file}.failures.csv`,
    );
    expect(run.stdout).toMatch(
      /or, as a retry of this campaign \(pick the codes worth retrying\):\n {2}wxcoupon campaign retry csv-[\w-]+ --codes NOT_ENOUGH --wait --api http:\/\/api.test --token <token>$/,
    );
    expect(run.stdout).not.toContain("t0k");
    const allowed = await sendIo(file, "--allow-failures", "--json");
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      outcome: "completed_with_failures",
      exit_code: 0,
      campaign: { sent: 1, failed: 2, state: "COMPLETED" },
      failures_file: `${file}.failures.csv`,
      failures_rows: 2,
      lines_skipped: 0,
    });
  });

  it("takes its own failures file back as a new campaign, even when every recipient had failed", async () => {
    const file = csv("fail-1\nfail-2\n");
    expect((await sendIo(file)).code).toBe(3);
    const first = api.calls.find((c) => c.path === "/campaigns")!.body!.campaign_id;
    api.calls.length = 0;
    const failures = `${file}.failures.csv`;
    const retry = await sendIo(failures);
    expect(retry.stderr).toContain("is a failures file: sending its 2 recipients again as a new campaign");
    const second = api.calls.find((c) => c.path === "/campaigns")!.body!.campaign_id;
    expect(second).not.toBe(first);
    expect(api.chunkPosts().map((c) => c.body!.openids)).toEqual([["fail-1", "fail-2"]]);
    // The same retry again is the same campaign: resumed, not sent twice.
    api.calls.length = 0;
    await sendIo(failures);
    expect(api.calls.find((c) => c.path === "/campaigns")!.body!.campaign_id).toBe(second);
    expect(api.chunkPosts()).toHaveLength(0);
  });
});

describe("campaign send: CSV columns", () => {
  it("reads the openid column of a multi-column CSV without being told", async () => {
    const file = csv('openid,nickname,phone\no-1,"Li, Lei",138\no-2,Wang,139\n');
    expect((await sendIo(file)).code).toBe(0);
    expect([...api.chunks.values()].flat()).toEqual(["o-1", "o-2"]);
  });

  it("reads the column --column names, and reports rows without an openid there", async () => {
    const file = csv('nickname,uid\r\nLi,"u-1"\r\nWang\r\nZhao,not an id\r\n"Qian, Ming",u-4\r\n');
    const run = await sendIo(file, "--column", "UID");
    expect(run.code).toBe(0);
    expect([...api.chunks.values()].flat()).toEqual(["u-1", "u-4"]);
    expect(run.stderr).toContain('line 3: not an openid, skipped: "Wang"');
    expect(run.stderr).toContain('line 4: not an openid, skipped: "Zhao,not an id"');
  });

  it("lists the header's columns when --column names none of them, or when no column is named openid", async () => {
    const cases: Array<[string, string[], RegExp]> = [
      [
        "openid,nickname,phone\no-1,Li,1\n",
        ["--column", "user"],
        /--column "user": .* has no such column; its header \(line 1\) has "openid", "nickname", "phone"/,
      ],
      [
        "uid,nickname\nu-1,Li\n",
        [],
        /has 2 columns \("uid", "nickname"\) and none is named "openid": pass --column NAME/,
      ],
    ];
    for (const [content, extra, message] of cases) {
      const io = capture();
      const argv = ["campaign", "send", "--stock", "1", "--file", csv(content), "--api", "http://api.test", ...extra];
      expect(await main([...argv, "--token", "t"], io, { campaign: deps })).toBe(2);
      expect(io.stderr[0]).toMatch(message);
      expect(api.chunkPosts()).toHaveLength(0);
    }
  });
});

describe("progress on a terminal", () => {
  const status = (sent: number, total = 20_000) => ({
    campaign_id: "c",
    stock_id: "1",
    state: "SENDING" as const,
    total,
    sent,
    failed: 12_345,
    pending: total - sent,
    failures_by_code: {},
    rate_per_second: 100,
    created_at: "",
    updated_at: "",
  });
  const meter = () => {
    const m = new RateMeter();
    m.add(0, 0);
    m.add(10_000, 4_567);
    return m;
  };

  it("fits the line in the terminal's width, leaving out the least useful parts first", () => {
    const upload = { chunksAcked: 123, chunksTotal: 2_000, expectedTotal: 2_000_000 };
    const full = formatProgress(status(1_234_567, 2_000_000), meter(), upload);
    expect(full.length).toBeGreaterThan(80);
    for (const columns of [200, 100, 80, 60, 50, 40, 20]) {
      const line = formatProgress(status(1_234_567, 2_000_000), meter(), upload, columns);
      expect(line.length, `${columns}: ${line}`).toBeLessThanOrEqual(columns - 1);
      if (columns >= 50) expect(line).toContain("sent 1234567/2000000");
      if (columns >= 30) expect(line).toMatch(/^(\[[#-]+\] {2})?\s*62%.*sent 1234567\/2000000/);
    }
    expect(formatProgress(status(1_234_567, 2_000_000), meter(), upload, 200)).toBe(full);
    expect(formatProgress(status(1_234_567, 2_000_000), meter(), upload, 80)).toMatch(/^\[#+-*\] {2}62%/);
    expect(formatProgress(status(1_234_567, 2_000_000), meter(), upload, 50)).toMatch(/^62% {1,2}sent/);
  });

  it("draws in the width the terminal has now, and clears the line before a message, then draws it again", () => {
    let columns = 100;
    const log: string[] = [];
    const reporter = new ProgressReporter(
      { isTTY: true, write: (t) => log.push(t), columns: () => columns },
      () => 0,
      5_000,
      (line) => log.push(`MSG ${line}\n`),
    );
    reporter.update(status(5_000), { chunksAcked: 3, chunksTotal: 20 });
    columns = 60;
    reporter.message("POST /campaigns/c/chunks: HTTP 503; retrying in 1s");
    reporter.finish();
    expect(log[0]).toMatch(/^\r\[.{24}\] .*chunks 3\/20\u001b\[K$/);
    expect(log[1]).toBe("\r\u001b[K");
    expect(log[2]).toBe("MSG POST /campaigns/c/chunks: HTTP 503; retrying in 1s\n");
    expect(log[3]).toMatch(/^\r.*\u001b\[K$/);
    expect(log[3]!.length - "\r\u001b[K".length).toBeLessThanOrEqual(59);
    expect(log[4]).toBe("\n");
  });

  it("prints the API's retry messages on their own lines during a send", async () => {
    const log: string[] = [];
    deps.progress = { isTTY: true, write: (t) => log.push(t), columns: () => 80 };
    const io: CliIo = { out: () => {}, err: (l) => log.push(`ERR ${l}\n`) };
    const file = csv(Array.from({ length: 5 }, (_, i) => `o-${i}`).join("\n"));
    let posts = 0;
    const inner = api.fetch;
    deps.fetch = async (input, init) => {
      if (String(input).endsWith("/chunks") && ++posts === 2) api.failNextChunkWith = 503;
      return inner(input, init);
    };
    const code = await runCampaignCommand(
      ["send", "--stock", "123", "--file", file, "--api", "http://api.test", "--token", "t", "--chunk-size", "2"],
      io,
      deps,
    );
    expect(code).toBe(0);
    const retry = log.findIndex((l) => l.includes("HTTP 503; retrying in"));
    expect(retry).toBeGreaterThan(0);
    expect(log[retry - 1]).toBe("\r\u001b[K");
    expect(log[retry + 1]).toMatch(/^\r\[/);
    for (const line of log.filter((l) => l.startsWith("\r["))) expect(line.length - 4).toBeLessThanOrEqual(79);
  });
});

describe("openid files: failures files and CSV", () => {
  it("reads a failures file's openids with the out_request_no they failed as", async () => {
    const file = csv('openid,out_request_no,code\no-1,k_1,NOT_ENOUGH\n"o-2",k_2,RULE_LIMIT\n');
    const lines = [];
    for await (const line of readOpenidLines(file)) lines.push(line);
    expect(lines).toEqual([
      { kind: "openid", lineNo: 2, openid: "o-1", failedAs: "k_1" },
      { kind: "openid", lineNo: 3, openid: "o-2", failedAs: "k_2" },
    ]);
  });
});
