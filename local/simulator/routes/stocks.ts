import { formatRfc3339, parseRfc3339 } from "../clock.js";
import { type ApiRequest, type ApiResponse, ok, type SimContext } from "../context.js";
import { notFound, paramError, WechatApiError } from "../errors.js";
import type { Router } from "../router.js";
import { validateCreateStock } from "../rules/create-stock.js";
import { canonicalJson, checkFields, parseJsonObject } from "../rules/schema.js";
import { MCHID } from "../rules/text.js";
import { STOCK_STATUSES, type StockRecord, type StockStatus } from "../state/records.js";
import { stockView } from "../views.js";
import { assertMayView, intQuery, onlyQuery, pathParam, requiredQuery } from "./params.js";

function createStock(req: ApiRequest, ctx: SimContext): ApiResponse {
  const raw = parseJsonObject(req.bodyText);
  const now = ctx.clock.now();
  const outRequestNo = raw["out_request_no"];
  // Same merchant + out_request_no + same body → the same stock; another body → RESOURCE_ALREADY_EXISTS
  // (docs/wechatpay-cash-coupons.md#idempotency-and-replays).
  if (typeof outRequestNo === "string") {
    const previous = ctx.store.stockForRequest(req.caller.mchid, outRequestNo);
    if (previous) {
      if (previous.fingerprint !== canonicalJson(raw))
        throw new WechatApiError(400, "RESOURCE_ALREADY_EXISTS", "创建请求重入，但本次请求与上次请求信息不一致");
      return ok({ stock_id: previous.stock_id, create_time: formatRfc3339(previous.create_time) });
    }
  }
  const { body, begin, end } = validateCreateStock(raw, {
    callerMchid: req.caller.mchid,
    now,
    beginToleranceMs: ctx.options.beginTimeToleranceSeconds * 1000,
    isUploadedImage: (url) => ctx.store.images.has(url),
  });
  const stock: StockRecord = {
    stock_id: ctx.store.allocateStockId(),
    creator_mchid: req.caller.mchid,
    out_request_no: body.out_request_no,
    fingerprint: canonicalJson(raw),
    body,
    status: "unactivated",
    begin,
    end,
    create_time: now,
  };
  ctx.store.record({ k: "stock", v: stock });
  ctx.log(`stock ${stock.stock_id} created by ${stock.creator_mchid}`);
  return ok({ stock_id: stock.stock_id, create_time: formatRfc3339(now) });
}

type Transition = "start" | "pause" | "restart" | "stop";
const TRANSITIONS: Record<Transition, { from: StockStatus; to: StockStatus; timeField: string }> = {
  start: { from: "unactivated", to: "running", timeField: "start_time" },
  pause: { from: "running", to: "paused", timeField: "pause_time" },
  restart: { from: "paused", to: "running", timeField: "restart_time" },
  stop: { from: "unactivated", to: "stoped", timeField: "stop_time" },
};

function transition(kind: Transition) {
  return (req: ApiRequest, ctx: SimContext): ApiResponse => {
    const stockId = pathParam(req, "stock_id", "批次id");
    const body = parseJsonObject(req.bodyText);
    checkFields(body, { stock_creator_mchid: { t: "string", label: "创建批次的商户号", req: true } });
    const creator = body["stock_creator_mchid"] as string;
    if (!MCHID.test(creator)) throw new WechatApiError(400, "MCH_NOT_EXISTS", "商户号不合法");
    const stock = ctx.store.stocks.get(stockId);
    if (!stock || stock.creator_mchid !== creator) throw notFound("批次不存在");
    if (req.caller.mchid !== stock.creator_mchid) throw new WechatApiError(403, "REQUEST_BLOCKED", "调用商户无权限");
    const rule = TRANSITIONS[kind];
    // WeChat's detail shape {field, value, issue, location} (docs/wechatpay-apiv3-security.md#error-body)
    if (stock.status !== rule.from)
      throw new WechatApiError(400, "INVALID_REQUEST", "非法的批次状态", {
        field: "stock_id",
        value: stock.stock_id,
        issue: `stock status is ${stock.status}; ${kind} needs ${rule.from}`,
        location: "uri_template",
      });
    const now = ctx.clock.now();
    const next: StockRecord = { ...stock, status: rule.to, [rule.timeField]: now };
    ctx.store.record({ k: "stock", v: next });
    return ok({ [rule.timeField]: formatRfc3339(now), stock_id: stock.stock_id });
  };
}

function parseTimeQuery(req: ApiRequest, name: string): number | undefined {
  const text = req.query.get(name);
  if (text === null || text === "") return undefined;
  const ms = parseRfc3339(text);
  if (ms === undefined) throw paramError("输入时间格式错误", name, "query", text);
  return ms;
}

function listStocks(req: ApiRequest, ctx: SimContext): ApiResponse {
  onlyQuery(req, ["offset", "limit", "stock_creator_mchid", "create_start_time", "create_end_time", "status"]);
  // "页码从0开始": offset is a page index, as for every list (local/simulator/README.md#list-offsets).
  const offset = intQuery(req, "offset", { required: true, max: 100_000 });
  const limit = intQuery(req, "limit", { required: true, min: 1, max: 10, tooLarge: "页大小超过阈值" });
  const creator = requiredQuery(req, "stock_creator_mchid", "商户号必填");
  // E7 lists the stocks the caller created ("查询创建的批次列表", GO ListStocks); an authorised sender reads another
  // creator's stock with E8 only.
  if (creator !== req.caller.mchid) throw new WechatApiError(403, "REQUEST_BLOCKED", "调用商户无权限");
  const from = parseTimeQuery(req, "create_start_time");
  const to = parseTimeQuery(req, "create_end_time");
  const status = req.query.get("status");
  if (status && !STOCK_STATUSES.includes(status)) throw paramError("非法的批次状态", "status", "query", status);
  const matching = [...ctx.store.stocks.values()].filter(
    (s) =>
      s.creator_mchid === creator &&
      (from === undefined || s.create_time >= from) &&
      (to === undefined || s.create_time <= to) &&
      (!status || s.status === status),
  );
  const page = matching.slice(offset * limit, offset * limit + limit);
  return ok({
    total_count: matching.length,
    limit,
    offset,
    data: page.map((s) => stockView(s, ctx.store)),
  });
}

function findViewableStock(req: ApiRequest, ctx: SimContext): StockRecord {
  const stockId = pathParam(req, "stock_id", "批次id");
  const creator = requiredQuery(req, "stock_creator_mchid", "商户号必填");
  assertMayView(req.caller, creator);
  const stock = ctx.store.stocks.get(stockId);
  if (!stock || stock.creator_mchid !== creator) throw notFound("批次不存在");
  return stock;
}

function stockDetail(req: ApiRequest, ctx: SimContext): ApiResponse {
  onlyQuery(req, ["stock_creator_mchid"]);
  return ok(stockView(findViewableStock(req, ctx), ctx.store));
}

function listing(kind: "merchants" | "items") {
  const maxOffset = kind === "merchants" ? 1000 : 500;
  const maxLimit = kind === "merchants" ? 50 : 100;
  return (req: ApiRequest, ctx: SimContext): ApiResponse => {
    onlyQuery(req, ["offset", "limit", "stock_creator_mchid"]);
    const offset = intQuery(req, "offset", { required: true, max: maxOffset });
    const limit = intQuery(req, "limit", { required: true, min: 1, max: maxLimit, tooLarge: "页大小超过阈值" });
    const stock = findViewableStock(req, ctx);
    const rule = stock.body.coupon_use_rule;
    // Without an explicit list a stock is usable at its creator (guess; not documented).
    const all =
      kind === "merchants" ? (rule.available_merchants ?? [stock.creator_mchid]) : (rule.available_items ?? []);
    // offset is a page index, as for every list (local/simulator/README.md#list-offsets)
    return ok({
      total_count: all.length,
      data: all.slice(offset * limit, offset * limit + limit),
      offset,
      limit,
      stock_id: stock.stock_id,
    });
  };
}

export function registerStockRoutes(router: Router): void {
  const base = "/v3/marketing/favor";
  router.add("POST", `${base}/coupon-stocks`, { name: "create-stock", mutates: true }, createStock);
  for (const kind of ["start", "pause", "restart", "stop"] as const)
    router.add("POST", `${base}/stocks/{stock_id}/${kind}`, { name: `${kind}-stock`, mutates: true }, transition(kind));
  router.add("GET", `${base}/stocks`, { name: "list-stocks" }, listStocks);
  router.add("GET", `${base}/stocks/{stock_id}`, { name: "stock-detail" }, stockDetail);
  router.add("GET", `${base}/stocks/{stock_id}/merchants`, { name: "stock-merchants" }, listing("merchants"));
  router.add("GET", `${base}/stocks/{stock_id}/items`, { name: "stock-items" }, listing("items"));
}
