import { createHash } from "node:crypto";
import { FlowFileFormatError, FlowFileIntegrityError, WechatPayError } from "../errors.js";
import { FAVOR_PATH, type FavorContext, segment } from "./context.js";
import { type FlowCsvProgress, newFlowCsvProgress, readFlowCsv } from "./flow-csv.js";
import type { FlowLink, RefundFlowRow, UseFlowRow } from "./types.js";
import { validatePathParam } from "./validation.js";

const BEIJING_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/**
 * When WeChat starts serving a stock's use-flow and refund-flow files: 10:00 Beijing time on the day after the
 * (Beijing) day of its `available_end_time`; before that, and for a stock with nothing to list, E13/E14 answer 404
 * RESOURCE_NOT_EXISTS `账单文件不存在` (docs/wechatpay-cash-coupons.md#when-the-files-exist).
 *
 * @example
 * flowFilesAvailableAt("2024-05-20T23:59:59+08:00") // Date.parse("2024-05-21T10:00:00+08:00")
 */
export function flowFilesAvailableAt(availableEndTime: string | number): number {
  const end = typeof availableEndTime === "number" ? availableEndTime : Date.parse(availableEndTime);
  if (Number.isNaN(end))
    throw new WechatPayError("INVALID_ARGUMENT", `available_end_time ${availableEndTime} is not a time`);
  const beijingMidnight = Math.floor((end + BEIJING_OFFSET_MS) / DAY_MS) * DAY_MS - BEIJING_OFFSET_MS;
  return beijingMidnight + DAY_MS + 10 * 3_600_000;
}

/** How the columns of a flow file map onto typed row fields (title, required, kind). */
type ColumnSpec<Row> = { [K in keyof Row]: { title: string; required: boolean; kind: "text" | "yuan" | "time" } };

const USE_COLUMNS: ColumnSpec<UseFlowRow> = {
  stock_id: { title: "批次id", required: true, kind: "text" },
  coupon_id: { title: "优惠id", required: true, kind: "text" },
  coupon_type: { title: "优惠类型", required: false, kind: "text" },
  coupon_amount: { title: "优惠金额（元）", required: true, kind: "yuan" },
  order_amount: { title: "订单总金额（元）", required: true, kind: "yuan" },
  trade_type: { title: "交易类型", required: false, kind: "text" },
  transaction_id: { title: "支付单号", required: true, kind: "text" },
  consume_time: { title: "消耗时间", required: true, kind: "time" },
  consume_mchid: { title: "消耗商户号", required: true, kind: "text" },
  device_no: { title: "设备号", required: false, kind: "text" },
  bank_serial_no: { title: "银行流水号", required: false, kind: "text" },
  goods_info: { title: "单品信息", required: false, kind: "text" },
};

// The refund-flow column titles are not documented (docs/wechatpay-cash-coupons.md#refund-flow-file-format): the
// official page names 订单号, 单品信息 and 银行流水号 as the file's contents, like the use flow's; the refund columns are
// our guess (required: a real file titled otherwise fails on its header, naming the column, rather than misreading).
const REFUND_COLUMNS: ColumnSpec<RefundFlowRow> = {
  stock_id: { title: "批次id", required: true, kind: "text" },
  coupon_id: { title: "优惠id", required: true, kind: "text" },
  coupon_type: { title: "优惠类型", required: false, kind: "text" },
  coupon_amount: { title: "优惠金额（元）", required: false, kind: "yuan" },
  order_amount: { title: "订单总金额（元）", required: false, kind: "yuan" },
  trade_type: { title: "交易类型", required: false, kind: "text" },
  transaction_id: { title: "支付单号", required: true, kind: "text" },
  refund_time: { title: "退款时间", required: true, kind: "time" },
  refund_mchid: { title: "退款商户号", required: false, kind: "text" },
  refund_id: { title: "退款单号", required: true, kind: "text" },
  refund_amount: { title: "退款金额（元）", required: true, kind: "yuan" },
  device_no: { title: "设备号", required: false, kind: "text" },
  bank_serial_no: { title: "银行流水号", required: false, kind: "text" },
  goods_info: { title: "单品信息", required: false, kind: "text" },
};

const YUAN = /^(\d+)(?:\.(\d{1,2}))?$/;
const CSV_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;

/** `1.5` yuan → 150 fen, in integer arithmetic. */
function fen(value: string, title: string, line: number): number {
  const match = YUAN.exec(value);
  if (!match) throw new FlowFileFormatError(`${title} ${JSON.stringify(value)} is not an amount in yuan`, line);
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

/** `2020-11-27 16:23:05` (Beijing, as the files write it) → `2020-11-27T16:23:05+08:00`. */
function beijingTime(value: string, title: string, line: number): string {
  const match = CSV_TIME.exec(value);
  const text = match ? `${match[1]}T${match[2]}+08:00` : "";
  if (!match || Number.isNaN(Date.parse(text)))
    throw new FlowFileFormatError(`${title} ${JSON.stringify(value)} is not a time`, line);
  return text;
}

function rowMapper<Row>(
  spec: ColumnSpec<Row>,
  progress: FlowCsvProgress,
): (values: string[], columns: readonly string[]) => Row {
  const fields = Object.entries(spec) as [string, { title: string; kind: "text" | "yuan" | "time" }][];
  let indexes: number[] | undefined; // column of each field in this file (-1: absent), found on the first record
  return (values, columns) => {
    indexes ??= fields.map(([, { title }]) => columns.indexOf(title));
    const row: Record<string, string | number> = {};
    for (let f = 0; f < fields.length; f++) {
      const [key, { title, kind }] = fields[f]!;
      const at = indexes[f]!;
      const value = at < 0 ? "" : values[at]!;
      if (kind === "text") row[key] = value;
      else if (kind === "yuan") row[key] = value === "" ? 0 : fen(value, title, progress.line);
      else row[key] = beijingTime(value, title, progress.line);
    }
    return row as Row;
  };
}

/** After a flow file has been read to its end: everything checked. */
export interface FlowCompletion {
  /** Records read; equal to the summary's 总条数. */
  rows: number;
  /** Lower-case hex SHA-1 of the bytes read; equal to the announced hash_value. */
  sha1: string;
}

/**
 * A use-flow or refund-flow file being downloaded: iterate it (once) for typed rows, read as the bytes arrive. The
 * SHA-1 of the bytes is compared with `hash_value` when the transfer ends and the summary's 总条数 with the rows read,
 * so the iteration's end — not any row before it — is what says the file was whole: an altered or cut file throws
 * FlowFileIntegrityError (naming both hashes) or FlowFileFormatError from the loop after its last row. Make what you
 * do per row idempotent, or stage it until the loop completes.
 */
export class FlowDownload<Row> implements AsyncIterable<Row> {
  readonly link: FlowLink;
  private readonly body: AsyncIterable<Buffer>;
  private readonly spec: ColumnSpec<Row>;
  private readonly progress = newFlowCsvProgress();
  private started = false;
  private sha1 = "";

  constructor(link: FlowLink, body: AsyncIterable<Buffer>, spec: ColumnSpec<Row>) {
    this.link = link;
    this.body = body;
    this.spec = spec;
  }

  /** WeChat's column titles, once the first row has been read. */
  get columns(): readonly string[] {
    return this.progress.columns;
  }

  /** Set once the iteration has ended with every check passed. */
  get completed(): FlowCompletion | undefined {
    return this.progress.done ? { rows: this.progress.rows, sha1: this.sha1 } : undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Row> {
    if (this.started) throw new WechatPayError("FLOW_ALREADY_READ", "a flow download can be read once");
    this.started = true;
    const expected = this.link.hash_value.toLowerCase();
    const settle = (sha1: string) => {
      this.sha1 = sha1;
      if (sha1 !== expected) throw new FlowFileIntegrityError(expected, sha1);
    };
    // The hash is settled when the last byte has passed, before the reader checks the summary: a cut file is
    // reported as the hash mismatch it is.
    async function* hashed(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      const hash = createHash("sha1");
      for await (const chunk of body) {
        hash.update(chunk);
        yield chunk;
      }
      settle(hash.digest("hex"));
    }
    const requiredColumns = Object.values<{ title: string; required: boolean }>(this.spec)
      .filter((column) => column.required)
      .map((column) => column.title);
    return readFlowCsv(hashed(this.body), {
      requiredColumns,
      progress: this.progress,
      map: rowMapper(this.spec, this.progress),
    });
  }
}

/**
 * Use-flow and refund-flow downloads (E13, E14): the link call, then a signed GET of the file (which WeChat does not
 * sign back), streamed, with our own SHA-1 check against `hash_value`, which no official SDK does for these files.
 *
 * @example
 * const flow = await client.flows.openUseFlow(stockId);
 * for await (const row of flow) console.log(row.coupon_id, row.transaction_id, row.consume_time);
 * flow.completed; // { rows, sha1 }: the file was whole
 */
export class FlowsApi {
  constructor(private readonly context: FavorContext) {}

  /** E13: a 30-second link to the use-flow file. */
  useFlowLink(stockId: string): Promise<FlowLink> {
    return this.link(stockId, "use-flow");
  }

  /** E14: a 30-second link to the refund-flow file. */
  refundFlowLink(stockId: string): Promise<FlowLink> {
    return this.link(stockId, "refund-flow");
  }

  /** E13 then the download: resolves when the file starts to arrive (the link lives 30 s, so it is used at once). */
  async openUseFlow(stockId: string): Promise<FlowDownload<UseFlowRow>> {
    return this.open(await this.useFlowLink(stockId), USE_COLUMNS);
  }

  /** E14 then the download. */
  async openRefundFlow(stockId: string): Promise<FlowDownload<RefundFlowRow>> {
    return this.open(await this.refundFlowLink(stockId), REFUND_COLUMNS);
  }

  private async open<Row>(link: FlowLink, spec: ColumnSpec<Row>): Promise<FlowDownload<Row>> {
    if (link.hash_type.toUpperCase() !== "SHA1") {
      throw new WechatPayError("UNSUPPORTED_HASH_TYPE", `flow file hash_type ${link.hash_type} is not SHA1`);
    }
    const { body } = await this.context.http.download(link.url);
    return new FlowDownload(link, body, spec);
  }

  private async link(stockId: string, kind: "use-flow" | "refund-flow"): Promise<FlowLink> {
    validatePathParam("stock_id", stockId);
    const { data } = await this.context.http.request<FlowLink>({
      method: "GET",
      path: `${FAVOR_PATH}/stocks/${segment(stockId)}/${kind}`,
    });
    if (typeof data?.url !== "string" || typeof data.hash_value !== "string") {
      throw new WechatPayError("MALFORMED_RESPONSE", `${kind}: the answer has no url or hash_value`);
    }
    return { url: data.url, hash_value: data.hash_value, hash_type: data.hash_type ?? "SHA1" };
  }
}
