import { formatRfc3339 } from "../clock.js";
import { type ApiRequest, type ApiResponse, ok, type SimContext } from "../context.js";
import { invalidRequest, notFound, paramError } from "../errors.js";
import type { Router } from "../router.js";
import { checkFields, parseJsonObject } from "../rules/schema.js";
import { onlyQuery, requiredQuery } from "./params.js";

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * WeChat requires https and no query string (docs/wechatpay-cash-coupons.md#notify-url-e15-e16). Deviation: plain http
 * is accepted for loopback hosts so local receivers need no TLS.
 */
export function notifyUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "回调url格式错误";
  }
  if (text.includes("?") || url.search !== "") return "回调url不能携带参数";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOOPBACK.test(url.hostname)) return undefined;
  return "回调url必须为https地址";
}

function setCallback(req: ApiRequest, ctx: SimContext): ApiResponse {
  const body = parseJsonObject(req.bodyText);
  if (body["mchid"] === undefined || body["mchid"] === "") throw paramError("回调商户不能为空", "/mchid");
  if (body["notify_url"] === undefined || body["notify_url"] === "") throw paramError("回调url不能为空", "/notify_url");
  checkFields(body, {
    mchid: { t: "string", label: "商户号", req: true },
    notify_url: { t: "string", label: "通知地址", req: true },
    switch: { t: "bool", label: "回调开关" },
  });
  const mchid = body["mchid"] as string;
  const notifyUrl = body["notify_url"] as string;
  if (mchid !== req.caller.mchid) throw invalidRequest("非法的商户号");
  const problem = notifyUrlProblem(notifyUrl);
  if (problem) throw paramError(problem, "/notify_url");
  const now = ctx.clock.now();
  // switch omitted: pushing stays on (guess; GO documents only true = on).
  ctx.store.record({
    k: "callback",
    v: { mchid, notify_url: notifyUrl, switch: (body["switch"] as boolean | undefined) ?? true, update_time: now },
  });
  return ok({ update_time: formatRfc3339(now), notify_url: notifyUrl });
}

function getCallback(req: ApiRequest, ctx: SimContext): ApiResponse {
  onlyQuery(req, ["mchid"]);
  const mchid = requiredQuery(req, "mchid", "商户号必填");
  if (mchid !== req.caller.mchid) throw invalidRequest("非法的商户号");
  const callback = ctx.store.callbacks.get(mchid);
  if (!callback) throw notFound("回调地址未设置");
  return ok({ mchid, notify_url: callback.notify_url });
}

export function registerCallbackRoutes(router: Router): void {
  router.add("POST", "/v3/marketing/favor/callbacks", { name: "set-callback", mutates: true }, setCallback);
  router.add("GET", "/v3/marketing/favor/callbacks", { name: "get-callback" }, getCallback);
}
