import { flowFilesAvailableAt, formatCsvTime } from "../clock.js";
import { type ApiRequest, type ApiResponse, ok, type SimContext } from "../context.js";
import { invalidRequest, notFound, WechatApiError } from "../errors.js";
import type { Router } from "../router.js";
import type { StockRecord } from "../state/records.js";
import { onlyQuery, pathParam, requiredQuery } from "./params.js";

const CRLF = "\r\n";
const NO_FILE = "账单文件不存在";
const yuan = (fen: number) => (fen / 100).toFixed(2);
// Observed sample (docs/wechatpay-cash-coupons.md#use-flow-and-refund-flow-files-e13-e14): every value but the quoted
// trailing ones is prefixed with a backtick.
const cell = (value: string | number) => `\`${value}`;

const USE_HEADER =
  "批次id,优惠id,优惠类型,优惠金额（元）,订单总金额（元）,交易类型,支付单号,消耗时间,消耗商户号,设备号,银行流水号,单品信息";
// Refund-flow column titles are undocumented (docs/wechatpay-cash-coupons.md#refund-flow-file-format): the official
// page says the file holds 订单号, 单品信息 and 银行流水号 as the use flow does; the refund columns are our guess,
// in place of the use columns.
const REFUND_HEADER =
  "批次id,优惠id,优惠类型,优惠金额（元）,订单总金额（元）,交易类型,支付单号,退款时间,退款商户号,退款单号,退款金额（元）," +
  "设备号,银行流水号,单品信息";

function couponKind(stock: StockRecord): string {
  return (stock.body.coupon_use_rule.available_items?.length ?? 0) > 0 ? "单品代金券" : "全场代金券";
}

export interface FlowFile {
  rows: number;
  file: Buffer;
}

function csv(header: string, rows: string[]): FlowFile {
  const text = `${header}${CRLF}${rows.map((r) => r + CRLF).join("")}总条数${CRLF}${cell(rows.length)}${CRLF}`;
  return { rows: rows.length, file: Buffer.from(text, "utf8") };
}

/** One row: the nine columns both files lead with (the amount column is the order's, or the refund's), then `trailing`. */
function flowRow(
  stock: StockRecord,
  row: { couponId: string; amountFen: number; tradeType: string; transactionId: string; time: number; mchid: string },
  trailing: string[],
): string {
  const couponAmount = stock.body.coupon_use_rule.fixed_normal_coupon?.coupon_amount ?? 0;
  return [
    cell(stock.stock_id),
    cell(row.couponId),
    cell(couponKind(stock)),
    cell(yuan(couponAmount)),
    cell(yuan(row.amountFen)),
    cell(row.tradeType),
    cell(row.transactionId),
    cell(formatCsvTime(row.time)),
    cell(row.mchid),
    ...trailing,
  ].join(",");
}

/** The use-flow file of a stock: one row per use of a coupon. */
export function useFlowFile(ctx: SimContext, stock: StockRecord): FlowFile {
  const rows: string[] = [];
  for (const coupon of ctx.store.coupons.values()) {
    if (coupon.stock_id !== stock.stock_id || !coupon.consume) continue;
    for (const c of [...(coupon.earlier_uses ?? []), coupon.consume])
      rows.push(
        flowRow(
          stock,
          {
            couponId: coupon.coupon_id,
            amountFen: c.order_amount,
            tradeType: "支付",
            transactionId: c.transaction_id,
            time: c.consume_time,
            mchid: c.consume_mchid,
          },
          ['""', '""', '""'],
        ),
      );
  }
  return csv(USE_HEADER, rows);
}

/** The refund-flow file of a stock (format guessed). */
export function refundFlowFile(ctx: SimContext, stock: StockRecord): FlowFile {
  const rows = ctx.store.refunds
    .filter((r) => r.stock_id === stock.stock_id)
    .map((r) =>
      flowRow(
        stock,
        {
          couponId: r.coupon_id,
          amountFen: r.refund_amount,
          tradeType: "退款",
          transactionId: r.transaction_id,
          time: r.refund_time,
          mchid: r.refund_mchid,
        },
        [cell(r.refund_id), cell(yuan(r.refund_amount)), '""', '""', '""'],
      ),
    );
  return csv(REFUND_HEADER, rows);
}

function flow(kind: "use" | "refund") {
  return (req: ApiRequest, ctx: SimContext): ApiResponse => {
    onlyQuery(req, []);
    const stockId = pathParam(req, "stock_id", "批次id");
    const stock = ctx.store.stocks.get(stockId);
    if (!stock) throw notFound("批次不存在");
    // Only the creator may download (docs/wechatpay-cash-coupons.md#use-flow-and-refund-flow-files-e13-e14).
    if (stock.creator_mchid !== req.caller.mchid) throw new WechatApiError(403, "REQUEST_BLOCKED", "调用商户无权限");
    // WeChat answers 账单文件不存在 before 10:00 (Beijing) the day after the stock's available_end_time, and for a stock
    // with nothing to list (docs/wechatpay-cash-coupons.md#when-the-files-exist).
    if (ctx.clock.now() < flowFilesAvailableAt(stock.end)) throw notFound(NO_FILE);
    const { rows, file } = kind === "use" ? useFlowFile(ctx, stock) : refundFlowFile(ctx, stock);
    if (rows === 0) throw notFound(NO_FILE);
    const { token, sha1 } = ctx.downloads.add(file, req.caller.mchid);
    return ok({
      url: `${ctx.baseUrl()}/v3/billdownload/file?token=${token}`,
      hash_value: sha1,
      hash_type: "SHA1",
    });
  };
}

function download(req: ApiRequest, ctx: SimContext): ApiResponse {
  const token = requiredQuery(req, "token", "token必填");
  const file = ctx.downloads.get(token, req.caller.mchid);
  if (file === undefined) throw notFound("文件不存在");
  if (file === "expired") throw invalidRequest("下载链接已过期");
  return { status: 200, raw: { body: file, contentType: "text/csv; charset=utf-8" } };
}

export function registerFlowRoutes(router: Router): void {
  const base = "/v3/marketing/favor/stocks/{stock_id}";
  router.add("GET", `${base}/use-flow`, { name: "use-flow" }, flow("use"));
  router.add("GET", `${base}/refund-flow`, { name: "refund-flow" }, flow("refund"));
  router.add("GET", "/v3/billdownload/file", { name: "bill-download", unsigned: true }, download);
}
