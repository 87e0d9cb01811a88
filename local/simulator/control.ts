import { createPublicKey } from "node:crypto";
import { formatRfc3339, parseRfc3339 } from "./clock.js";
import type { SimContext } from "./context.js";
import { refundCoupon, useCoupon } from "./coupon-use.js";
import { SimulatorError } from "./errors.js";
import { APPID, MCHID, OPENID } from "./rules/text.js";
import type { UserRecord } from "./state/records.js";
import type { LedgerEntry, SimulatorStats } from "./types.js";
import { couponStatus } from "./views.js";

export interface ControlDeps {
  ctx: SimContext;
  reset(): Promise<void>;
  stats(): SimulatorStats;
  ledger(): LedgerEntry[];
  configView(): unknown;
}

export interface ControlResponse {
  status: number;
  json: unknown;
}

const bad = (message: string, field?: string) =>
  new SimulatorError("BAD_REQUEST", message, field ? { field } : undefined);

function parseBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  try {
    const value = JSON.parse(raw.toString("utf8")) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw bad("body must be a JSON object");
}

function optional<T>(body: Record<string, unknown>, key: string, type: "string" | "number" | "boolean"): T | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== type) throw bad(`${key} must be a ${type}`, key);
  return value as T;
}

function userFrom(body: Record<string, unknown>): UserRecord {
  const openid = body["openid"];
  if (typeof openid !== "string" || !OPENID.test(openid)) throw bad("openid must match [A-Za-z0-9_-]{1,128}", "openid");
  const appid = optional<string>(body, "appid", "string");
  if (appid !== undefined && !APPID.test(appid)) throw bad("appid is malformed", "appid");
  const risky = optional<boolean>(body, "risky", "boolean");
  const person = optional<string>(body, "natural_person_id", "string");
  return {
    openid,
    ...(appid === undefined ? {} : { appid }),
    ...(risky === undefined ? {} : { risky }),
    ...(person === undefined ? {} : { natural_person_id: person }),
  };
}

function registerMerchant(ctx: SimContext, body: Record<string, unknown>) {
  const mchid = body["mchid"];
  if (typeof mchid !== "string" || !MCHID.test(mchid) || mchid === ctx.file.mchid)
    throw bad("mchid must be digits and differ from the primary merchant", "mchid");
  const serial = body["merchant_serial_no"];
  if (typeof serial !== "string" || !/^[0-9A-Fa-f]{8,40}$/.test(serial))
    throw bad("merchant_serial_no must be hex", "merchant_serial_no");
  const pem = body["public_key"];
  if (typeof pem !== "string") throw bad("public_key must be a PEM public key or certificate", "public_key");
  try {
    createPublicKey(pem);
  } catch {
    throw bad("public_key must be a PEM public key or certificate", "public_key");
  }
  const list = (key: string): string[] => {
    const value = body[key] ?? [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw bad(`${key} must be strings`, key);
    return value as string[];
  };
  const record = {
    mchid,
    serial_no: serial.toUpperCase(),
    public_key_pem: createPublicKey(pem).export({ type: "spki", format: "pem" }).toString(),
    appids: list("appids"),
    authorized_by: list("authorized_by"),
  };
  ctx.store.record({ k: "merchant", v: record });
  return { mchid, merchant_serial_no: record.serial_no, appids: record.appids, authorized_by: record.authorized_by };
}

/** Withdraws or restores a known merchant's right to send coupons (`send_coupons`). */
function setPermissions(ctx: SimContext, body: Record<string, unknown>) {
  for (const key of Object.keys(body))
    if (key !== "mchid" && key !== "send_coupons") throw bad(`unknown field ${key}`, key);
  const mchid = body["mchid"];
  if (typeof mchid !== "string" || (mchid !== ctx.file.mchid && !ctx.store.merchants.has(mchid)))
    throw bad("mchid must be the primary merchant or a registered one", "mchid");
  const send = body["send_coupons"];
  if (typeof send !== "boolean") throw bad("send_coupons must be true or false", "send_coupons");
  if (send) ctx.sendRevoked.delete(mchid);
  else ctx.sendRevoked.add(mchid);
  return { mchid, send_coupons: send };
}

function moveClock(ctx: SimContext, body: Record<string, unknown>) {
  let offset = ctx.store.clockOffsetMs;
  const advanceMs = optional<number>(body, "advance_ms", "number");
  const advanceSeconds = optional<number>(body, "advance_seconds", "number");
  const offsetMs = optional<number>(body, "offset_ms", "number");
  const set = optional<string>(body, "set", "string");
  if (advanceMs !== undefined) offset += advanceMs;
  if (advanceSeconds !== undefined) offset += advanceSeconds * 1000;
  if (offsetMs !== undefined) offset = offsetMs;
  if (set !== undefined) {
    const target = parseRfc3339(set);
    if (target === undefined) throw bad("set must be an RFC 3339 time", "set");
    offset = target - ctx.clock.wireNow();
  }
  if (!Number.isFinite(offset)) throw bad("clock offset must be finite");
  ctx.store.record({ k: "clock", offsetMs: Math.round(offset) });
  return clockView(ctx);
}

const clockView = (ctx: SimContext) => ({ now: formatRfc3339(ctx.clock.now()), offset_ms: ctx.store.clockOffsetMs });

/** `/_simulator/*`: test control, no WeChat signature. */
export async function handleControl(
  deps: ControlDeps,
  method: string,
  path: string,
  query: URLSearchParams,
  rawBody: Buffer,
): Promise<ControlResponse> {
  const { ctx } = deps;
  const route = `${method} ${path.replace(/^\/_simulator/, "")}`;
  try {
    const couponAction = /^POST \/coupons\/([^/]+)\/(use|refund)$/.exec(route);
    if (couponAction) {
      const body = parseBody(rawBody);
      const id = decodeURIComponent(couponAction[1]!);
      if (couponAction[2] === "use") {
        const input = {
          consume_amount: optional<number>(body, "consume_amount", "number"),
          transaction_id: optional<string>(body, "transaction_id", "string"),
          consume_mchid: optional<string>(body, "consume_mchid", "string"),
        };
        return {
          status: 200,
          json: useCoupon(ctx, id, Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))),
        };
      }
      const input = {
        refund_amount: optional<number>(body, "refund_amount", "number"),
        refund_id: optional<string>(body, "refund_id", "string"),
      };
      return {
        status: 200,
        json: refundCoupon(ctx, id, Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined))),
      };
    }
    switch (route) {
      case "POST /faults":
        return { status: 200, json: ctx.faults.configure(parseBody(rawBody)) };
      case "GET /faults":
        return { status: 200, json: ctx.faults.settings };
      case "POST /replays": {
        const checks = parseBody(rawBody)["checks"];
        if (typeof checks !== "boolean")
          throw new SimulatorError("BAD_REPLAYS", "checks must be true or false", { field: "checks" });
        ctx.replayChecks = checks;
        return { status: 200, json: { checks } };
      }
      case "GET /stats":
        return { status: 200, json: deps.stats() };
      case "POST /reset":
        await deps.reset();
        return { status: 200, json: { reset: true } };
      case "POST /users": {
        const body = parseBody(rawBody);
        const list = Array.isArray(body["users"]) ? (body["users"] as Record<string, unknown>[]) : [body];
        const users = list.map(userFrom);
        for (const v of users) ctx.store.record({ k: "user", v });
        return { status: 200, json: { users } };
      }
      case "POST /permissions":
        return { status: 200, json: setPermissions(ctx, parseBody(rawBody)) };
      case "GET /permissions":
        return { status: 200, json: { send_revoked: [...ctx.sendRevoked] } };
      case "POST /merchants":
        return { status: 200, json: registerMerchant(ctx, parseBody(rawBody)) };
      case "GET /ledger": {
        const filters = ["stock_id", "mchid", "out_request_no", "openid"] as const;
        const rows = deps.ledger().filter((row) => filters.every((f) => !query.get(f) || row[f] === query.get(f)));
        return { status: 200, json: { total_count: rows.length, data: rows } };
      }
      case "POST /clock":
        return { status: 200, json: moveClock(ctx, parseBody(rawBody)) };
      case "GET /clock":
        return { status: 200, json: clockView(ctx) };
      case "GET /config":
        return { status: 200, json: deps.configView() };
      case "GET /notifications":
        return { status: 200, json: { data: ctx.notifier.deliveries } };
      default:
        return { status: 404, json: { code: "NOT_FOUND", message: `no control endpoint ${route}` } };
    }
  } catch (error) {
    if (error instanceof SimulatorError) {
      const status = error.code.endsWith("NOT_FOUND") ? 404 : 400;
      return {
        status,
        json: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) },
      };
    }
    throw error;
  }
}

/** Every issued coupon, for "exactly one coupon per key" checks. */
export function ledgerOf(ctx: SimContext): LedgerEntry[] {
  const now = ctx.clock.now();
  return [...ctx.store.coupons.values()].map((c) => ({
    coupon_id: c.coupon_id,
    mchid: c.sender_mchid,
    out_request_no: c.out_request_no,
    stock_id: c.stock_id,
    openid: c.openid,
    appid: c.appid,
    status: couponStatus(c, now),
    create_time: formatRfc3339(c.create_time),
  }));
}
