/**
 * EventBridge event patterns, the documented syntax that EventBridge rules, EventBridge Pipes filters and Lambda
 * event filtering share (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html and
 * .../eb-create-pattern-operators.html). No maintained npm package implements it (AWS's own matcher, Event Ruler, is
 * Java), so the local bus and the local stream mapping use this one. Supported: exact values (string, number,
 * boolean, null), `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but` (a value, a list, or
 * `{prefix|suffix|equals-ignore-case}`), `numeric` (comparisons, ranges), `exists`, and `$or`. Anything else throws:
 * a pattern the local stack cannot judge must not silently match or not.
 *
 * Semantics (from the pages above): every field named in the pattern must match (AND); a list of matchers matches
 * if any does (OR); an event field holding an array matches if any element does; a field absent from the event
 * matches only `{"exists": false}`; nested objects are matched field by field.
 */
export type EventPattern = Record<string, unknown>;

export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

/** Throws on a pattern the matcher does not support (checked once, when a rule or filter is read). */
export function checkPattern(pattern: EventPattern): void {
  matchObject(pattern, {});
  walk(pattern);
  function walk(node: unknown): void {
    if (Array.isArray(node)) {
      for (const m of node) if (isObject(m)) matcherKind(m);
      return;
    }
    if (isObject(node))
      for (const [k, v] of Object.entries(node)) k === "$or" ? (v as unknown[]).forEach(walk) : walk(v);
  }
}

function matchObject(pattern: EventPattern, value: unknown): boolean {
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === "$or") {
      if (!Array.isArray(sub)) throw new Error("$or must be a list of patterns");
      if (!sub.some((alternative) => matchObject(alternative as EventPattern, value))) return false;
      continue;
    }
    const field = isObject(value) && Object.hasOwn(value, key) ? value[key] : ABSENT;
    if (Array.isArray(sub)) {
      if (!matchField(sub, field)) return false;
    } else if (isObject(sub)) {
      if (!matchObject(sub, field === ABSENT ? undefined : field)) return false;
    } else {
      throw new Error(`pattern field ${key}: expected a list of matchers or an object, got ${JSON.stringify(sub)}`);
    }
  }
  return true;
}

const ABSENT = Symbol("absent");

function matchField(matchers: unknown[], field: unknown): boolean {
  if (field === ABSENT) return matchers.some((m) => isObject(m) && Object.hasOwn(m, "exists") && m.exists === false);
  const values = Array.isArray(field) ? field : [field];
  return matchers.some((m) => {
    if (isObject(m) && Object.hasOwn(m, "exists")) {
      if (typeof m.exists !== "boolean") throw new Error("exists takes true or false");
      return m.exists === true;
    }
    return values.some((v) => matchOne(m, v));
  });
}

function matchOne(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) return matcher === value;
  switch (matcherKind(matcher)) {
    case "prefix":
      return typeof value === "string" && stringTest(matcher.prefix, (p) => value.startsWith(p), value, "prefix");
    case "suffix":
      return typeof value === "string" && stringTest(matcher.suffix, (s) => value.endsWith(s), value, "suffix");
    case "equals-ignore-case":
      return typeof value === "string" && value.toLowerCase() === String(matcher["equals-ignore-case"]).toLowerCase();
    case "wildcard":
      return typeof value === "string" && wildcard(String(matcher.wildcard)).test(value);
    case "numeric":
      return typeof value === "number" && numeric(matcher.numeric as unknown[], value);
    case "anything-but":
      return !anythingBut(matcher["anything-but"], value);
    case "exists":
      throw new Error("exists applies to a field, not inside another matcher");
  }
}

type MatcherKind = "prefix" | "suffix" | "equals-ignore-case" | "wildcard" | "numeric" | "anything-but";
const KINDS: readonly MatcherKind[] = ["prefix", "suffix", "equals-ignore-case", "wildcard", "numeric", "anything-but"];

function matcherKind(matcher: Record<string, unknown>): MatcherKind | "exists" {
  const keys = Object.keys(matcher);
  if (keys.length === 1 && keys[0] === "exists") return "exists";
  const kind = KINDS.find((k) => keys.length === 1 && keys[0] === k);
  if (kind === undefined) throw new Error(`unsupported event pattern matcher ${JSON.stringify(matcher)}`);
  return kind;
}

/** `prefix`/`suffix` take a string or `{"equals-ignore-case": string}`. */
function stringTest(arg: unknown, test: (s: string) => boolean, value: string, name: string): boolean {
  if (typeof arg === "string") return test(arg);
  if (isObject(arg) && typeof arg["equals-ignore-case"] === "string") {
    const lower = arg["equals-ignore-case"].toLowerCase();
    return name === "prefix" ? value.toLowerCase().startsWith(lower) : value.toLowerCase().endsWith(lower);
  }
  throw new Error(`unsupported ${name} argument ${JSON.stringify(arg)}`);
}

/** Whether `value` is one of the excluded ones (so `anything-but` does not match). */
function anythingBut(arg: unknown, value: unknown): boolean {
  if (Array.isArray(arg)) return arg.some((a) => a === value);
  if (isObject(arg)) return matchOne(arg, value);
  return arg === value;
}

function numeric(spec: unknown[], value: number): boolean {
  if (spec.length === 0 || spec.length % 2 !== 0) throw new Error(`numeric takes operator/value pairs: ${spec}`);
  for (let i = 0; i < spec.length; i += 2) {
    const [op, bound] = [spec[i], Number(spec[i + 1])];
    const ok =
      op === "="
        ? value === bound
        : op === "<"
          ? value < bound
          : op === "<="
            ? value <= bound
            : op === ">"
              ? value > bound
              : op === ">="
                ? value >= bound
                : undefined;
    if (ok === undefined) throw new Error(`unsupported numeric operator ${String(op)}`);
    if (!ok) return false;
  }
  return true;
}

function wildcard(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
