import type { ApiRequest } from "../context.js";
import { paramError, WechatApiError } from "../errors.js";
import type { Sender } from "../rules/send-coupon.js";

/**
 * A path parameter; an empty segment gets WeChat's observed uri_template answer
 * (docs/wechatpay-cash-coupons.md#send-coupon-e6).
 */
export function pathParam(req: ApiRequest, name: string, label: string): string {
  const value = req.params[name] ?? "";
  if (value === "")
    throw new WechatApiError(
      400,
      "PARAM_ERROR",
      `输入源“/uri_template/${name}”映射到字段“${label}”必填性规则校验失败,此字段为必填项`,
      { location: "uri_template", value: "" },
      name,
    );
  return value;
}

/** A required query parameter (`PARAM_ERROR 商户号必填` style). */
export function requiredQuery(req: ApiRequest, name: string, message: string): string {
  const value = req.query.get(name);
  if (value === null || value === "") throw paramError(message, name, "query");
  return value;
}

/** An optional non-negative integer query parameter within [min, max]. */
export function intQuery(
  req: ApiRequest,
  name: string,
  options: { required?: boolean; fallback?: number; min?: number; max: number; tooLarge?: string },
): number {
  const text = req.query.get(name);
  if (text === null || text === "") {
    if (options.required || options.fallback === undefined) throw paramError(`${name}必填`, name, "query");
    return options.fallback;
  }
  if (!/^[0-9]+$/.test(text)) throw paramError(`${name}须为整数`, name, "query", text);
  const value = Number(text);
  if (value < (options.min ?? 0)) throw paramError(`${name}不能小于${options.min ?? 0}`, name, "query", text);
  if (value > options.max) throw paramError(options.tooLarge ?? `${name}不能大于${options.max}`, name, "query", text);
  return value;
}

/** Only the creator, or a merchant it authorized, may see a stock. */
export function assertMayView(caller: Sender, creatorMchid: string): void {
  if (caller.mchid !== creatorMchid && !caller.authorizedBy.includes(creatorMchid))
    throw new WechatApiError(403, "REQUEST_BLOCKED", "调用商户无权限");
}

/** Query names a route accepts; anything else is R15 (unknown parameter). */
export function onlyQuery(req: ApiRequest, allowed: readonly string[]): void {
  for (const key of req.query.keys())
    if (!allowed.includes(key)) throw paramError("请求中含有未在API文档中定义的参数", key, "query");
}
