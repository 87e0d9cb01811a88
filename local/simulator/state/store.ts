import { createPublicKey, type KeyObject } from "node:crypto";
import { beijingDay } from "../clock.js";
import type { Journal } from "./journal.js";
import type {
  CallbackRecord,
  CouponRecord,
  ImageRecord,
  JournalEntry,
  MerchantRecord,
  RefundRecord,
  StockRecord,
  UserRecord,
} from "./records.js";

const FIRST_STOCK_ID = 16_000_001;
const FIRST_COUPON_ID = 30_000_000_001;

/** Budget consumption of one stock, derived from its coupons (so it never needs its own journal line). */
export interface StockUsage {
  count: number;
  amount: number;
  byDay: Map<string, number>;
  perOpenid: Map<string, number>;
  perPerson: Map<string, number>;
}

/**
 * All simulator state. Every change goes through {@link Store.record}: applied in memory, then appended to the
 * journal. Changes are synchronous, so a check-then-issue sequence can never interleave with another request.
 */
export class Store {
  readonly stocks = new Map<string, StockRecord>();
  readonly coupons = new Map<string, CouponRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly callbacks = new Map<string, CallbackRecord>();
  readonly images = new Map<string, ImageRecord>();
  readonly merchants = new Map<string, MerchantRecord>();
  readonly merchantKeys = new Map<string, KeyObject>();
  refunds: RefundRecord[] = [];
  clockOffsetMs = 0;

  private readonly stockByRequest = new Map<string, string>();
  private readonly couponByRequest = new Map<string, string>();
  private readonly couponsByOpenid = new Map<string, string[]>();
  private readonly usage = new Map<string, StockUsage>();
  private nextStock = FIRST_STOCK_ID;
  private nextCoupon = FIRST_COUPON_ID;
  private readonly journal: Journal | undefined;

  constructor(journal?: Journal) {
    this.journal = journal;
  }

  record(entry: JournalEntry): void {
    this.apply(entry);
    this.journal?.append(entry);
  }

  apply(entry: JournalEntry): void {
    switch (entry.k) {
      case "stock":
        this.stocks.set(entry.v.stock_id, entry.v);
        this.stockByRequest.set(`${entry.v.creator_mchid}|${entry.v.out_request_no}`, entry.v.stock_id);
        this.nextStock = Math.max(this.nextStock, Number(entry.v.stock_id) + 1);
        return;
      case "coupon":
        this.putCoupon(entry.v);
        return;
      case "user":
        this.users.set(entry.v.openid, entry.v);
        return;
      case "callback":
        this.callbacks.set(entry.v.mchid, entry.v);
        return;
      case "image":
        this.images.set(entry.v.media_url, entry.v);
        return;
      case "refund":
        this.refunds.push(entry.v);
        return;
      case "merchant":
        this.merchants.set(entry.v.mchid, entry.v);
        this.merchantKeys.set(entry.v.mchid, createPublicKey(entry.v.public_key_pem));
        return;
      case "clock":
        this.clockOffsetMs = entry.offsetMs;
        return;
      case "seq":
        this.nextStock = Math.max(this.nextStock, entry.stock);
        this.nextCoupon = Math.max(this.nextCoupon, entry.coupon);
        return;
      case "reset":
        this.clear();
        return;
    }
  }

  private putCoupon(coupon: CouponRecord): void {
    const existed = this.coupons.has(coupon.coupon_id);
    this.coupons.set(coupon.coupon_id, coupon);
    if (existed) return;
    this.couponByRequest.set(`${coupon.sender_mchid}|${coupon.out_request_no}`, coupon.coupon_id);
    const list = this.couponsByOpenid.get(coupon.openid) ?? [];
    list.push(coupon.coupon_id);
    this.couponsByOpenid.set(coupon.openid, list);
    this.nextCoupon = Math.max(this.nextCoupon, Number(coupon.coupon_id) + 1);
    const stock = this.stocks.get(coupon.stock_id);
    const usage = this.usageOf(coupon.stock_id);
    const amount = stock?.body.coupon_use_rule.fixed_normal_coupon?.coupon_amount ?? 0;
    const day = beijingDay(coupon.create_time);
    usage.count += 1;
    usage.amount += amount;
    usage.byDay.set(day, (usage.byDay.get(day) ?? 0) + amount);
    usage.perOpenid.set(coupon.openid, (usage.perOpenid.get(coupon.openid) ?? 0) + 1);
    if (coupon.person) usage.perPerson.set(coupon.person, (usage.perPerson.get(coupon.person) ?? 0) + 1);
  }

  usageOf(stockId: string): StockUsage {
    let usage = this.usage.get(stockId);
    if (!usage) {
      usage = { count: 0, amount: 0, byDay: new Map(), perOpenid: new Map(), perPerson: new Map() };
      this.usage.set(stockId, usage);
    }
    return usage;
  }

  stockForRequest(mchid: string, outRequestNo: string): StockRecord | undefined {
    const id = this.stockByRequest.get(`${mchid}|${outRequestNo}`);
    return id === undefined ? undefined : this.stocks.get(id);
  }

  couponForRequest(mchid: string, outRequestNo: string): CouponRecord | undefined {
    const id = this.couponByRequest.get(`${mchid}|${outRequestNo}`);
    return id === undefined ? undefined : this.coupons.get(id);
  }

  couponsOf(openid: string): CouponRecord[] {
    return (this.couponsByOpenid.get(openid) ?? []).map((id) => this.coupons.get(id)!);
  }

  allocateStockId(): string {
    return String(this.nextStock++);
  }

  allocateCouponId(): string {
    return String(this.nextCoupon++);
  }

  /** One line per live record: what a compacted journal holds. */
  snapshot(): JournalEntry[] {
    const entries: JournalEntry[] = [{ k: "seq", stock: this.nextStock, coupon: this.nextCoupon }];
    for (const v of this.merchants.values()) entries.push({ k: "merchant", v });
    for (const v of this.stocks.values()) entries.push({ k: "stock", v });
    for (const v of this.coupons.values()) entries.push({ k: "coupon", v });
    for (const v of this.users.values()) entries.push({ k: "user", v });
    for (const v of this.callbacks.values()) entries.push({ k: "callback", v });
    for (const v of this.images.values()) entries.push({ k: "image", v });
    for (const v of this.refunds) entries.push({ k: "refund", v });
    if (this.clockOffsetMs !== 0) entries.push({ k: "clock", offsetMs: this.clockOffsetMs });
    return entries;
  }

  /** Forgets everything except the id counters, so ids handed out before a reset are never reused. */
  clear(): void {
    for (const map of [
      this.stocks,
      this.coupons,
      this.users,
      this.callbacks,
      this.images,
      this.merchants,
      this.merchantKeys,
      this.stockByRequest,
      this.couponByRequest,
      this.couponsByOpenid,
      this.usage,
    ] as Map<string, unknown>[]) {
      map.clear();
    }
    this.refunds = [];
    this.clockOffsetMs = 0;
  }

  /** Compacts the journal to the current state (on start and after a reset). */
  compact(): void {
    this.journal?.compact(this.snapshot());
  }
}
