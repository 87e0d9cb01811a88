import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SimulatorClock } from "./clock.js";
import type { ResolvedOptions, SimContext } from "./context.js";
import { ledgerOf } from "./control.js";
import { notificationHeaders } from "./coupon-use.js";
import { DownloadTokens } from "./downloads.js";
import { Faults } from "./faults.js";
import { prepareKeys, writeConfigFile } from "./keys.js";
import { Notifier, WECHAT_NOTIFY_INTERVAL_MS, WECHAT_NOTIFY_TIMEOUT_MS } from "./notifier.js";
import { RateLimiter } from "./rate-limit.js";
import { Router } from "./router.js";
import { registerCallbackRoutes } from "./routes/callbacks.js";
import { registerCertificateRoutes } from "./routes/certificates.js";
import { registerCouponRoutes } from "./routes/coupons.js";
import { registerFlowRoutes } from "./routes/flows.js";
import { registerMediaRoutes } from "./routes/media.js";
import { registerStockRoutes } from "./routes/stocks.js";
import { SimulatorServer } from "./server.js";
import { Journal } from "./state/journal.js";
import { Store } from "./state/store.js";
import { Counters } from "./stats.js";
import type { RunningSimulator, RunningSimulatorConfig, SimulatorOptions } from "./types.js";

export type * from "./types.js";

export const JOURNAL_FILE = "journal.jsonl";

function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  return {
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    notifyRetryIntervalMs: options.notifyRetryIntervalMs ?? WECHAT_NOTIFY_INTERVAL_MS,
    notifyTimeoutMs: options.notifyTimeoutMs ?? WECHAT_NOTIFY_TIMEOUT_MS,
    sendRateLimitPerSecond: options.sendRateLimitPerSecond ?? 500,
    endpointRateLimits: options.endpointRateLimits ?? true,
    requestTimestampToleranceSeconds: options.requestTimestampToleranceSeconds ?? 300,
    beginTimeToleranceSeconds: options.beginTimeToleranceSeconds ?? 60,
    faultTimeoutMs: options.faultTimeoutMs ?? 6_000,
  };
}

function buildRouter(): Router {
  const router = new Router();
  registerStockRoutes(router);
  registerCouponRoutes(router);
  registerFlowRoutes(router);
  registerCallbackRoutes(router);
  registerMediaRoutes(router);
  registerCertificateRoutes(router);
  return router;
}

/**
 * Starts the WeChat Pay cash-coupon simulator.
 *
 * @example
 * const sim = await startSimulator({ port: 0 });
 * // configure a client with sim.url, sim.config.mchid, sim.config.keys.merchantPrivateKey, …
 * await sim.stop();
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const resolved = resolveOptions(options);
  const log = options.log ?? (() => {});
  const prepared = await prepareKeys(options.stateDir, options.mode);
  const journal = options.stateDir ? new Journal(join(prepared.configPath!, "..", JOURNAL_FILE)) : undefined;
  const store = new Store(journal);
  if (journal) {
    for (const entry of journal.read()) store.apply(entry);
    store.compact();
  }
  const clock = new SimulatorClock(options.now ?? Date.now, () => store.clockOffsetMs);
  const counters = new Counters();
  let baseUrl = "";
  const ctx: SimContext = {
    options: resolved,
    file: prepared.file,
    keys: prepared.keys,
    clock,
    store,
    counters,
    faults: new Faults(resolved.faultTimeoutMs),
    replayChecks: false,
    sendRevoked: new Set(),
    limiter: new RateLimiter(() => clock.wireNow()),
    downloads: new DownloadTokens(() => clock.wireNow()),
    notifier: undefined as unknown as Notifier,
    log,
    baseUrl: () => baseUrl,
  };
  ctx.notifier = new Notifier({
    intervalMs: resolved.notifyRetryIntervalMs,
    timeoutMs: resolved.notifyTimeoutMs,
    signHeaders: (body) => notificationHeaders(ctx, body),
    counters,
    log,
  });

  const stats = () =>
    counters.snapshot({
      coupons_issued: store.coupons.size,
      stocks_created: store.stocks.size,
      notifications_pending: ctx.notifier.pending(),
    });
  const ledger = () => ledgerOf(ctx);
  const reset = async () => {
    ctx.notifier.clear();
    store.apply({ k: "reset" });
    store.compact();
    counters.reset();
    ctx.faults.reset();
    ctx.replayChecks = false;
    ctx.sendRevoked.clear();
    ctx.limiter.clear();
    ctx.downloads.clear();
    log("state reset");
  };
  const config: RunningSimulatorConfig = { ...prepared.file, config_path: prepared.configPath, keys: prepared.keys };
  const { keys: _keys, ...configView } = config;

  const server = new SimulatorServer(ctx, buildRouter(), {
    ctx,
    reset,
    stats,
    ledger,
    configView: () => ({ ...configView, base_url: baseUrl, mode: ctx.file.mode }),
  });
  const http = createServer({ keepAliveTimeout: 65_000 }, server.listener);
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(resolved.port, resolved.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = resolved.host.includes(":") ? `[${resolved.host}]` : resolved.host;
  baseUrl = `http://${host}:${port}`;
  prepared.file.base_url = baseUrl;
  config.base_url = baseUrl;
  if (prepared.configPath) await writeConfigFile(prepared.configPath, prepared.file);
  log(`WeChat Pay simulator listening on ${baseUrl} (mode ${prepared.file.mode})`);

  let stopped = false;
  return {
    url: baseUrl,
    port,
    config,
    stats,
    ledger,
    reset,
    async stop() {
      if (stopped) return;
      stopped = true;
      ctx.notifier.stop();
      server.cancelPending();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      journal?.close();
      log("WeChat Pay simulator stopped");
    },
  };
}
