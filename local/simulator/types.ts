import type { KeyObject } from "node:crypto";

export type SimulatorMode = "platform_certificate" | "public_key";

/** Which faults `POST /_simulator/faults` may inject. */
export type FaultKind = "500" | "429" | "timeout";
/** When a fault on a send fires relative to the state change (before = no coupon; after = coupon issued, answer lost). */
export type FaultPhase = "before" | "after" | "mix";

export type LogFn = (line: string) => void;

export interface SimulatorOptions {
  /** 0 = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Keys, simulator.json and the state journal live here; without it everything is in memory. */
  stateDir?: string;
  /** Default: the mode stored in simulator.json, else "platform_certificate". */
  mode?: SimulatorMode;
  /**
   * Time between two COUPON.USE attempts (default WeChat's one minute); tests shorten it. The number of attempts is
   * always WeChat's nine.
   */
  notifyRetryIntervalMs?: number;
  /** A notification attempt that has not answered in this time counts as failed (default 5,000 ms). */
  notifyTimeoutMs?: number;
  /** Send-coupon limit per calling merchant (default 500/s). */
  sendRateLimitPerSecond?: number;
  /** WeChat's per-endpoint limits other than send (docs/wechatpay-cash-coupons.md#endpoints; default true). */
  endpointRateLimits?: boolean;
  /** Accepted |now − request timestamp| (default 300 s). */
  requestTimestampToleranceSeconds?: number;
  /** Accepted past offset of `available_begin_time` on create-stock (default 60 s). */
  beginTimeToleranceSeconds?: number;
  /** How long a "timeout" fault holds the response before answering 500 (default 6,000 ms). */
  faultTimeoutMs?: number;
  /** Wire clock in ms (default Date.now). */
  now?: () => number;
  /** Receives one line per notable event; never key material. */
  log?: LogFn;
}

/** Content of DIR/simulator.json. Paths are absolute. */
export interface SimulatorFileConfig {
  base_url: string;
  mchid: string;
  appid: string;
  merchant_serial_no: string;
  merchant_private_key: string;
  merchant_certificate: string;
  apiv3_key: string;
  wechatpay_public_key_id: string;
  wechatpay_public_key: string;
  platform_certificate_serial: string;
  platform_certificate: string;
  mode: SimulatorMode;
  /** The simulator's own ("WeChat side") private keys; clients never need them. */
  simulator: {
    platform_private_key: string;
    wechatpay_private_key: string;
  };
}

/** The loaded key material, so in-process tests need no file reads. */
export interface SimulatorKeyMaterial {
  merchantPrivateKeyPem: string;
  merchantPrivateKey: KeyObject;
  merchantPublicKey: KeyObject;
  merchantCertificatePem: string;
  platformPrivateKey: KeyObject;
  platformCertificatePem: string;
  platformPublicKey: KeyObject;
  wechatpayPrivateKey: KeyObject;
  wechatpayPublicKeyPem: string;
  wechatpayPublicKey: KeyObject;
  apiv3Key: string;
}

export interface RunningSimulatorConfig extends SimulatorFileConfig {
  /** Path of simulator.json, undefined without a stateDir. */
  config_path: string | undefined;
  keys: SimulatorKeyMaterial;
}

export interface SimulatorStats {
  coupons_issued: number;
  stocks_created: number;
  requests_total: number;
  send_requests: number;
  send_replays: number;
  notifications_sent: number;
  notifications_acknowledged: number;
  notifications_failed_attempts: number;
  notifications_abandoned: number;
  notifications_pending: number;
  faults_injected: number;
  faults_by_kind: Record<FaultKind, number>;
  rate_limited: number;
  signature_failures: number;
}

export interface LedgerEntry {
  coupon_id: string;
  mchid: string;
  out_request_no: string;
  stock_id: string;
  openid: string;
  appid: string;
  status: string;
  create_time: string;
}

export interface RunningSimulator {
  url: string;
  port: number;
  config: RunningSimulatorConfig;
  stop(): Promise<void>;
  reset(): Promise<void>;
  stats(): SimulatorStats;
  ledger(): LedgerEntry[];
}
