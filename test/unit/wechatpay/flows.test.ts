import { createHash } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createWechatPayClient } from "#shared/wechatpay/client.js";
import { FlowFileFormatError, FlowFileIntegrityError, TransportError } from "#shared/wechatpay/errors.js";
import { type FlowCsvProgress, newFlowCsvProgress, readFlowCsv } from "#shared/wechatpay/favor/flow-csv.js";
import { flowFilesAvailableAt } from "#shared/wechatpay/favor/flows.js";
import { nodeHttpStreamSend } from "#shared/wechatpay/transport/node-http-send.js";
import { TEST_PUBLIC_KEY_PEM, testPrivateKeyPem } from "../../fixtures/vectors/public-vectors.js";
import {
  type FakeHandler,
  FakeWechatServer,
  MERCHANT,
  NOW_MS,
  parseAuthorization,
  TEST_PUBLIC_KEY_ID,
} from "./helpers/fake-wechat-server.js";

const HEADER =
  "批次id,优惠id,优惠类型,优惠金额（元）,订单总金额（元）,交易类型,支付单号,消耗时间,消耗商户号,设备号,银行流水号,单品信息";
const row = (coupon: string, amount = "2.00") =>
  `\`9856000,\`${coupon},\`全场代金券,\`1.00,\`${amount},\`支付,\`4200000000000000000000000001,\`2024-05-21 10:00:00,\`8956000,"","",""`;
const file = (rows: string[], count = rows.length) =>
  `${HEADER}\r\n${rows.map((r) => `${r}\r\n`).join("")}总条数\r\n\`${count}\r\n`;

async function* chunksOf(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function readAll(text: string, size = 64 * 1024, progress: FlowCsvProgress = newFlowCsvProgress()) {
  const records: Record<string, string>[] = [];
  for await (const record of readFlowCsv(chunksOf(text, size), { progress })) records.push(record);
  return { records, progress };
}

describe("readFlowCsv (streaming parser of WeChat's flow format)", () => {
  it("yields records keyed by the header, back-quotes and quotes removed, and reads the summary", async () => {
    const { records, progress } = await readAll(file([row("98674556", "2.50"), row("98674557")]));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ 批次id: "9856000", 优惠id: "98674556", "订单总金额（元）": "2.50", 设备号: "" });
    expect(progress).toMatchObject({ rows: 2, summary: { 总条数: "2" } });
    expect(progress.columns).toHaveLength(12);
  });

  it("gives the same records however the bytes are cut (multi-byte characters across chunks)", async () => {
    const text = file([row("1"), row("2"), row("3")]);
    const whole = (await readAll(text)).records;
    for (const size of [1, 2, 3, 7]) expect((await readAll(text, size)).records).toEqual(whole);
  });

  it("reads quoting: commas, doubled quotes, a quoted back-quoted value, a value spanning lines; LF and a BOM", async () => {
    const text = '\uFEFFa,b,c\n`1,"x,""y""","`z"\n`2,"multi\r\nline",`w\n总条数\n`2\n';
    const { records } = await readAll(text, 5);
    expect(records).toEqual([
      { a: "1", b: 'x,"y"', c: "z" },
      { a: "2", b: "multi\nline", c: "w" },
    ]);
  });

  it.each([
    ["a summary count that is not the number of records", file([row("1")], 2), "总条数 is 2, the file has 1 records"],
    ["no summary (a cut file)", `${HEADER}\r\n${row("1")}\r\n`, "no 总条数 summary"],
    ["a line after the summary", `${file([row("1")])}${row("2")}\r\n`, "line 5: a line follows the summary"],
    [
      "a record with a missing value",
      `${HEADER}\r\n\`1,\`2\r\n总条数\r\n\`1\r\n`,
      "line 2: 2 values where the header has 12",
    ],
    ["an unclosed quote", `a,b\r\n\`1,"x\r\n总条数\r\n\`1\r\n`, "not closed"],
    ["an empty file", "", "no header"],
  ])("refuses %s, naming it", async (_label, text, message) => {
    const error = await readAll(text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlowFileFormatError);
    expect((error as Error).message).toContain(message);
  });

  it("refuses a header without a required column before any record", async () => {
    const records: unknown[] = [];
    const reading = (async () => {
      for await (const r of readFlowCsv(chunksOf("批次id\r\n`1\r\n总条数\r\n`1\r\n", 100), {
        requiredColumns: ["优惠id"],
      }))
        records.push(r);
    })();
    await expect(reading).rejects.toThrow("the header has no column 优惠id");
    expect(records).toEqual([]);
  });
});

describe("flowFilesAvailableAt (10:00 Beijing the day after the stock ends)", () => {
  it.each([
    ["2024-05-20T23:59:59+08:00", "2024-05-21T10:00:00+08:00"],
    ["2024-05-20T00:00:00+08:00", "2024-05-21T10:00:00+08:00"],
    ["2024-05-20T16:30:00Z", "2024-05-22T10:00:00+08:00"],
    ["2024-12-31T12:00:00+08:00", "2025-01-01T10:00:00+08:00"],
  ])("ends %s → files from %s", (end, from) => {
    expect(flowFilesAvailableAt(end)).toBe(Date.parse(from));
    expect(flowFilesAvailableAt(Date.parse(end))).toBe(Date.parse(from));
  });
});

describe("client.flows: streamed download with the SHA-1 checked", () => {
  const servers: FakeWechatServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  async function setup(csv: string, hash: string, hashType = "SHA1") {
    const handler: FakeHandler = (request, server) => {
      if (request.url.startsWith("/v3/billdownload/file"))
        return { body: csv, sign: false, headers: { "Content-Type": "text/csv" } };
      return {
        body: JSON.stringify({
          url: `${server.url}/v3/billdownload/file?token=t1`,
          hash_value: hash,
          hash_type: hashType,
        }),
      };
    };
    const server = await new FakeWechatServer(handler).start();
    servers.push(server);
    const client = createWechatPayClient({
      mchid: MERCHANT.mchid,
      merchantSerialNo: MERCHANT.serialNo,
      merchantPrivateKey: testPrivateKeyPem(),
      apiv3Key: "a".repeat(32),
      wechatpayPublicKey: { id: TEST_PUBLIC_KEY_ID, pem: TEST_PUBLIC_KEY_PEM },
      baseUrl: server.url,
      backupBaseUrl: server.url,
      now: () => NOW_MS,
      sleep: async () => {},
    });
    return { server, client };
  }

  const csv = file([row("98674556", "2.50"), row("98674557", "12")]);
  const sha1 = createHash("sha1").update(csv).digest("hex");

  it("yields typed rows (fen, RFC 3339) from a signed GET, checks SHA-1 in any case, then reports completion", async () => {
    const { server, client } = await setup(csv, sha1.toUpperCase());
    const flow = await client.flows.openUseFlow("9856000");
    const rows = [];
    for await (const r of flow) rows.push(r);
    expect(rows[0]).toEqual({
      stock_id: "9856000",
      coupon_id: "98674556",
      coupon_type: "全场代金券",
      coupon_amount: 100,
      order_amount: 250,
      trade_type: "支付",
      transaction_id: "4200000000000000000000000001",
      consume_time: "2024-05-21T10:00:00+08:00",
      consume_mchid: "8956000",
      device_no: "",
      bank_serial_no: "",
      goods_info: "",
    });
    expect(rows[1]!.order_amount).toBe(1200);
    expect(flow.completed).toEqual({ rows: 2, sha1 });
    expect(flow.columns[1]).toBe("优惠id");
    const download = server.requests[1]!;
    expect(download.url).toBe("/v3/billdownload/file?token=t1");
    expect(parseAuthorization(download.headers.authorization).mchid).toBe(MERCHANT.mchid);
    await expect(async () => {
      for await (const _ of flow);
    }).rejects.toMatchObject({ code: "FLOW_ALREADY_READ" });
  });

  it("throws FlowFileIntegrityError naming both hashes when the bytes do not match hash_value", async () => {
    const altered = csv.replace("2.50", "9.50");
    const { client } = await setup(altered, sha1);
    const use = await client.flows.openUseFlow("9856000");
    const error = await (async () => {
      for await (const _ of use);
    })().catch((e: unknown) => e);
    const actual = createHash("sha1").update(altered).digest("hex");
    expect(error).toBeInstanceOf(FlowFileIntegrityError);
    expect(error).toMatchObject({ code: "FLOW_FILE_HASH_MISMATCH", expectedHash: sha1, actualHash: actual });
    expect((error as Error).message).toContain(sha1);
    expect((error as Error).message).toContain(actual);
    expect(use.completed).toBeUndefined();
  });

  it("retries a download refused with 500 before the file starts (same link), then streams it", async () => {
    let downloads = 0;
    const server = await new FakeWechatServer((request, fake) => {
      if (request.url.startsWith("/v3/billdownload/file")) {
        downloads++;
        if (downloads === 1) return { status: 500, body: '{"code":"SYSTEM_ERROR","message":"系统异常"}', sign: false };
        return { body: csv, sign: false };
      }
      return {
        body: JSON.stringify({ url: `${fake.url}/v3/billdownload/file?token=t1`, hash_value: sha1, hash_type: "SHA1" }),
      };
    }).start();
    servers.push(server);
    const client = createWechatPayClient({
      mchid: MERCHANT.mchid,
      merchantSerialNo: MERCHANT.serialNo,
      merchantPrivateKey: testPrivateKeyPem(),
      apiv3Key: "a".repeat(32),
      wechatpayPublicKey: { id: TEST_PUBLIC_KEY_ID, pem: TEST_PUBLIC_KEY_PEM },
      baseUrl: server.url,
      backupBaseUrl: server.url,
      now: () => NOW_MS,
      sleep: async () => {},
    });
    const flow = await client.flows.openUseFlow("9856000");
    let rows = 0;
    for await (const _ of flow) rows++;
    expect(rows).toBe(2);
    expect(downloads).toBe(2);
    expect(flow.completed?.sha1).toBe(sha1);
  });

  it("names the column and line of a value that is not an amount", async () => {
    const bad = file([row("1", "2.345")]);
    const { client } = await setup(bad, createHash("sha1").update(bad).digest("hex"));
    const flow = await client.flows.openUseFlow("9856000");
    await expect(
      (async () => {
        for await (const _ of flow);
      })(),
    ).rejects.toThrow('flow file line 2: 订单总金额（元） "2.345" is not an amount in yuan');
  });

  it("refuses a hash type other than SHA1 and a link to another host", async () => {
    await expect((await setup(csv, sha1, "MD5")).client.flows.openUseFlow("9856000")).rejects.toMatchObject({
      code: "UNSUPPORTED_HASH_TYPE",
    });
    const server = await new FakeWechatServer(() => ({
      body: JSON.stringify({ url: "https://evil.example/f", hash_value: sha1, hash_type: "SHA1" }),
    })).start();
    servers.push(server);
    const client = createWechatPayClient({
      mchid: MERCHANT.mchid,
      merchantSerialNo: MERCHANT.serialNo,
      merchantPrivateKey: testPrivateKeyPem(),
      apiv3Key: "a".repeat(32),
      wechatpayPublicKey: { id: TEST_PUBLIC_KEY_ID, pem: TEST_PUBLIC_KEY_PEM },
      baseUrl: server.url,
      backupBaseUrl: server.url,
      now: () => NOW_MS,
    });
    await expect(client.flows.openUseFlow("9856000")).rejects.toMatchObject({ code: "UNEXPECTED_DOWNLOAD_HOST" });
  });
});

describe("nodeHttpStreamSend", () => {
  const raw: http.Server[] = [];
  afterEach(() => {
    for (const server of raw.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });
  async function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    raw.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/billdownload/file?token=t`;
  }
  const exchange = (url: string, timeoutMs = 2_000) => ({
    method: "GET" as const,
    url: new URL(url),
    headers: { Accept: "*/*" },
    body: undefined,
    timeoutMs,
  });
  const drain = async (body: AsyncIterable<Buffer>) => {
    let size = 0;
    for await (const chunk of body) size += chunk.length;
    return size;
  };

  it("streams a body larger than any single chunk", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/csv" });
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(64 * 1024, 0x61));
      res.end();
    });
    const answer = await nodeHttpStreamSend(exchange(url));
    expect(answer.status).toBe(200);
    expect(await drain(answer.body)).toBe(64 * 64 * 1024);
  });

  it("fails the iteration with TransportError when the connection is cut mid-body", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "Content-Length": "1000" });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const answer = await nodeHttpStreamSend(exchange(url));
    await expect(drain(answer.body)).rejects.toBeInstanceOf(TransportError);
  });

  it("fails the iteration with a timed-out TransportError when the body stalls", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/csv" });
      res.write("批次id\r\n");
    });
    const answer = await nodeHttpStreamSend(exchange(url, 200));
    await expect(drain(answer.body)).rejects.toMatchObject({ code: "TIMEOUT" });
  });
});
