import { paramError } from "../errors.js";

/** A tiny field schema: enough to reject unknown fields (R15), missing fields and wrong JSON types. */
export type FieldSpec =
  | { t: "string" | "int" | "bool"; label: string; req?: boolean }
  | { t: "object"; label: string; req?: boolean; fields: Record<string, FieldSpec> }
  | { t: "array"; label: string; req?: boolean; items: FieldSpec };

export const UNKNOWN_FIELD_MESSAGE = "请求中含有未在API文档中定义的参数";

// WeChat's observed wording: 输入源“/body/x”映射到字段“名称”必填性规则校验失败,此字段为必填项
const requiredMessage = (source: string, label: string) =>
  `输入源“${source}”映射到字段“${label}”必填性规则校验失败,此字段为必填项`;
const typeMessage = (source: string, label: string) => `输入源“${source}”映射到字段“${label}”类型校验失败`;

function checkValue(value: unknown, spec: FieldSpec, path: string): void {
  const source = `/body${path}`;
  if (value === null) throw paramError(typeMessage(source, spec.label), path);
  switch (spec.t) {
    case "string":
      if (typeof value !== "string") throw paramError(typeMessage(source, spec.label), path);
      // Basic rules: only 1–3-byte UTF-8 characters (no emoji).
      if (/[\u{10000}-\u{10FFFF}]/u.test(value))
        throw paramError(`字段“${spec.label}”含有不支持的字符(仅支持1-3字节的UTF-8字符)`, path);
      return;
    case "int":
      if (typeof value !== "number" || !Number.isSafeInteger(value))
        throw paramError(typeMessage(source, spec.label), path);
      return;
    case "bool":
      if (typeof value !== "boolean") throw paramError(typeMessage(source, spec.label), path);
      return;
    case "array":
      if (!Array.isArray(value)) throw paramError(typeMessage(source, spec.label), path);
      value.forEach((item, i) => {
        checkValue(item, spec.items, `${path}/${i}`);
      });
      return;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) throw paramError(typeMessage(source, spec.label), path);
      checkFields(value as Record<string, unknown>, spec.fields, path);
      return;
  }
}

/** Throws 400 PARAM_ERROR for the first unknown, missing or mistyped field of `body`. */
export function checkFields(body: Record<string, unknown>, fields: Record<string, FieldSpec>, path = ""): void {
  for (const key of Object.keys(body)) {
    if (!(key in fields)) throw paramError(UNKNOWN_FIELD_MESSAGE, `${path}/${key}`);
  }
  for (const [key, spec] of Object.entries(fields)) {
    const value = body[key];
    if (value === undefined) {
      if (spec.req) throw paramError(requiredMessage(`/body${path}/${key}`, spec.label), `${path}/${key}`);
      continue;
    }
    checkValue(value, spec, `${path}/${key}`);
  }
}

/** Parses a JSON object body, 400 PARAM_ERROR when it is not one. */
export function parseJsonObject(raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw === "" ? "{}" : raw);
  } catch {
    throw paramError("请求体不是合法的JSON格式");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw paramError("请求体不是合法的JSON格式");
  return parsed as Record<string, unknown>;
}

/** Canonical JSON (sorted keys) for comparing a replay with the original request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
