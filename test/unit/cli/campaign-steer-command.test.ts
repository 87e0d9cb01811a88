import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { CampaignCommandDeps } from "#shared/cli/api-access.js";
import type { CliIo } from "#shared/cli/cli-io.js";
import { main } from "#shared/cli/main.js";

const dir = mkdtempSync(join(tmpdir(), "wxcoupon-steer-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

const campaign = (id: string, fields: Record<string, unknown> = {}) => ({
  campaign_id: id,
  stock_id: "123",
  state: "SENDING",
  total: 10,
  sent: 4,
  failed: 0,
  cancelled: 0,
  pending: 6,
  failures_by_code: {},
  rate_per_second: 100,
  sealed: true,
  chunks_received: 1,
  created_at: "2030-01-01T00:00:00.000Z",
  updated_at: "2030-01-01T00:00:10.000Z",
  ...fields,
});

/** The steering routes in a few lines: a retry filled over three requests, then completing with one failure. */
class FakeApi {
  readonly calls: Array<{ route: string; body: unknown }> = [];
  retryRequests = 0;
  statusReads = 0;

  fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const route = `${init?.method ?? "GET"} ${url.pathname}`;
    this.calls.push({ route: `${route}${url.search}`, body });
    const reply = (status: number, value: unknown) => new Response(JSON.stringify(value), { status });
    if (route === "GET /campaigns") {
      // Two short pages (a filter), then the end.
      const cursor = url.searchParams.get("cursor");
      if (!cursor) return reply(200, { data: [campaign("c-new")], cursor: "p2" });
      if (cursor === "p2") return reply(200, { data: [], cursor: "p3" });
      return reply(200, { data: [campaign("c-old", { state: "COMPLETED", retry_of: { campaign_id: "c-x" } })] });
    }
    const control = /^POST \/campaigns\/([^/]+)\/(pause|resume|cancel)$/.exec(route);
    if (control) {
      if (control[1] === "gone") return reply(404, { code: "CAMPAIGN_NOT_FOUND", message: "no campaign gone" });
      const state = { pause: "PAUSED", resume: "SENDING", cancel: "CANCELLING" }[control[2]!];
      return reply(200, { campaign: campaign(control[1]!, { state }), changed: control[2] !== "resume" });
    }
    if (route === "POST /campaigns/parent/retry") {
      this.retryRequests++;
      const complete = this.retryRequests >= 3;
      return reply(202, {
        campaign: campaign("r-child", {
          total: this.retryRequests * 2,
          sealed: complete,
          retry_of: { campaign_id: "parent", attempt: 1, codes: body.codes },
        }),
        parent_campaign_id: "parent",
        attempt: 1,
        codes: body.codes,
        created: this.retryRequests === 1,
        filling_complete: complete,
        pages_added: complete && this.retryRequests > 3 ? 0 : 1,
      });
    }
    if (route === "POST /campaigns/done/retry")
      return reply(409, { code: "RETRY_CODES_OVERLAP", field: "codes", message: "NOT_ENOUGH was retried before" });
    if (route === "GET /campaigns/r-child") {
      this.statusReads++;
      return reply(
        200,
        this.statusReads < 3
          ? campaign("r-child", { total: 6, sent: this.statusReads })
          : campaign("r-child", {
              state: "COMPLETED",
              total: 6,
              sent: 5,
              failed: 1,
              pending: 0,
              failures_by_code: { SYSTEM_ERROR: 1 },
            }),
      );
    }
    if (route === "GET /campaigns/withdrawn")
      return reply(
        200,
        campaign("withdrawn", { state: "COMPLETED", state_reason: "cancelled", cancelled: 6, pending: 0 }),
      );
    if (route === "GET /campaigns/parent/failures") {
      const failure = (n: number) => ({ openid: `o-${n}`, out_request_no: `k-${n}`, code: "NOT_ENOUGH" });
      return url.searchParams.get("cursor")
        ? reply(200, { data: [failure(2)] })
        : reply(200, { data: [failure(1)], cursor: "next" });
    }
    return reply(404, { code: "ROUTE_NOT_FOUND", message: route });
  };
}

let api: FakeApi;
let deps: CampaignCommandDeps;
beforeEach(() => {
  api = new FakeApi();
  deps = {
    fetch: api.fetch,
    sleep: async () => {},
    pollIntervalMs: 0,
    cwd: dir,
    progress: { isTTY: false, write: () => {} },
  };
});

const API = ["--api", "http://api.test", "--token", "t0k"];
async function run(...argv: string[]) {
  const io = capture();
  const code = await main(["campaign", ...argv, ...API], io, { campaign: deps });
  return { code, stdout: io.stdout.join("\n"), stderr: io.stderr.join("\n") };
}

describe("wxcoupon campaign retry", () => {
  it("calls the retry route with the same codes until its filling is complete, and prints the retry", async () => {
    const result = await run("retry", "parent", "--codes", "system_error, NOT_ENOUGH,SYSTEM_ERROR");
    expect(result.code, result.stderr).toBe(0);
    const posts = api.calls.filter((c) => c.route === "POST /campaigns/parent/retry");
    expect(posts).toHaveLength(3);
    expect(
      posts.every((p) => JSON.stringify(p.body) === JSON.stringify({ codes: ["SYSTEM_ERROR", "NOT_ENOUGH"] })),
    ).toBe(true);
    expect(result.stderr).toContain("created retry r-child of campaign parent (attempt 1");
    expect(result.stdout).toMatch(/Retry\s+r-child/);
    expect(result.stdout).toMatch(/Recipients\s+6\n/);
    expect(result.stdout).toContain("wxcoupon campaign status r-child");
    expect(api.calls.some((c) => c.route.startsWith("GET"))).toBe(false);
  });

  it("--wait follows the retry to COMPLETED and exits 3 when some failed again, with the command to retry them", async () => {
    const result = await run("retry", "parent", "--codes", "NOT_ENOUGH", "--wait");
    expect(result.code).toBe(3);
    expect(api.statusReads).toBe(3);
    expect(result.stdout).toMatch(/State\s+COMPLETED/);
    expect(result.stdout).toContain("wxcoupon campaign retry r-child --codes SYSTEM_ERROR");
    api = new FakeApi();
    deps.fetch = api.fetch;
    const allowed = await run("retry", "parent", "--codes", "NOT_ENOUGH", "--wait", "--allow-failures", "--json");
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({
      outcome: "completed_with_failures",
      exit_code: 0,
      campaign_id: "r-child",
      parent_campaign_id: "parent",
      codes: ["NOT_ENOUGH"],
      filling_complete: true,
      campaign: { state: "COMPLETED", failed: 1 },
    });
  });

  it("exits 1 with the service's reason for a refused retry, and 2 for bad codes", async () => {
    const refused = await run("retry", "done", "--codes", "NOT_ENOUGH");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("409 RETRY_CODES_OVERLAP: NOT_ENOUGH was retried before");
    for (const codes of ["", "not a code", ","]) {
      const bad = await run("retry", "parent", "--codes", codes);
      expect(bad.code, codes).toBe(2);
    }
    expect((await run("retry", "--codes", "X")).stderr).toContain("retry needs a CAMPAIGN_ID");
    expect(api.calls.filter((c) => c.route.includes("/retry"))).toHaveLength(1);
  });
});

describe("wxcoupon campaign list, pause, resume, cancel, failures", () => {
  it("lists campaigns through short pages until the limit or the end, as a table or JSON", async () => {
    const table = await run("list", "--state", "completed", "--stock", "123");
    expect(table.code, table.stderr).toBe(0);
    expect(api.calls.map((c) => c.route)).toEqual([
      "GET /campaigns?limit=20&state=COMPLETED&stock_id=123",
      "GET /campaigns?limit=19&state=COMPLETED&stock_id=123&cursor=p2",
      "GET /campaigns?limit=19&state=COMPLETED&stock_id=123&cursor=p3",
    ]);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toMatch(/^CAMPAIGN\s+STATE\s+STOCK\s+SENT\/TOTAL\s+FAILED\s+CREATED\s+RETRY OF$/);
    expect(lines[1]).toMatch(/^c-new\s+SENDING\s+123\s+4\/10\s+0\s+2030-01-01T00:00:00.000Z\s*$/);
    expect(lines[2]).toMatch(/^c-old\s+COMPLETED .* c-x$/);

    const limited = await run("list", "--limit", "1", "--json");
    expect(JSON.parse(limited.stdout)).toEqual({
      data: [expect.objectContaining({ campaign_id: "c-new" })],
      cursor: "p2",
    });
    expect((await run("list", "--state", "DONE")).code).toBe(2);
    expect((await run("list", "--limit", "0")).code).toBe(2);
  });

  it("pauses, resumes and cancels, saying whether anything changed; an unknown campaign is a plain error", async () => {
    const paused = await run("pause", "c-1");
    expect(paused).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^campaign c-1 paused: PAUSED, sent 4\/10/),
    });
    const resumed = await run("resume", "c-1");
    expect(resumed.stdout).toMatch(/^campaign c-1 was already running: SENDING/);
    const cancelled = await run("cancel", "c-1", "--json");
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ changed: true, campaign: { state: "CANCELLING" } });
    expect(api.calls.map((c) => c.route)).toEqual([
      "POST /campaigns/c-1/pause",
      "POST /campaigns/c-1/resume",
      "POST /campaigns/c-1/cancel",
    ]);
    const gone = await run("pause", "gone");
    expect(gone).toMatchObject({ code: 1, stderr: "error: no campaign gone at http://api.test" });
    expect((await run("cancel", "bad id!")).code).toBe(2);
  });

  it("shows a cancelled campaign's reason and the recipients the cancel withdrew", async () => {
    const status = await run("status", "withdrawn");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/State\s+COMPLETED \(cancelled\)\n/);
    expect(status.stdout).toMatch(/Sent\s+4\n/);
    expect(status.stdout).toMatch(/Cancelled\s+6\n/);
  });

  it("prints every failure page as the failures-file CSV, or as JSON", async () => {
    const csv = await run("failures", "parent");
    expect(csv.stdout).toBe("openid,out_request_no,code\no-1,k-1,NOT_ENOUGH\no-2,k-2,NOT_ENOUGH");
    const json = await run("failures", "parent", "--json");
    expect(JSON.parse(json.stdout).data.map((f: { openid: string }) => f.openid)).toEqual(["o-1", "o-2"]);
  });
});
