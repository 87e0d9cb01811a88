/**
 * Bundle size and cold import time of each Lambda, built exactly as infra/constructs/wx-function.ts has CDK build it
 * (same esbuild options: ESM, minified, node24 target, AWS SDK bundled, createRequire banner, module-first main fields).
 *
 *   npx tsx test/bench/bundle-sizes.ts [--runs 9] [--json] [entry.ts ...]   (default entries: functions/*.ts)
 *
 * Import time = median over fresh `node` processes of the time to `import()` the bundle (module evaluation included,
 * no handler call), measured with and without --enable-source-maps (Lambda's NODE_OPTIONS sets it). It runs on this
 * machine's Node, not Lambda's nodejs24.x, so compare bundles with each other, not with Lambda's INIT duration.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { type LocalResources, localResolver, resolveFunction } from "#local/stack/template/local-resources.js";
import { loadServiceModel } from "#local/stack/template/read-template.js";
import { type FunctionKind, REPO_ROOT, WX_BUNDLING } from "../../infra/constructs/wx-function.js";

export const SIZE_BUDGET_BYTES = 700 * 1024;

export interface BundleMeasurement {
  name: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  withinBudget: boolean;
  placeholder: boolean;
  importMedianMs: number | undefined;
  importWithSourceMapsMedianMs: number | undefined;
  importError?: string;
  bundleError?: string;
}

export interface MeasureOptions {
  /** Fresh processes per bundle and mode. */
  runs?: number;
  /** Only these function names (file names without .ts). */
  only?: string[];
  /** Bundle these entry files instead of functions/*.ts (e.g. probes while the handlers are being written). */
  entries?: string[];
}

/**
 * Each function's environment as it would be deployed, so its cold-start config validation passes at import: the
 * synthesized template's variables for that function (local/stack/template/, the same reading the local stack
 * starts from), resource references resolved to AWS-shaped names of this account and region (queue URLs, ARNs, the
 * table), plus what the Lambda runtime sets (region, the role's credentials, the function name). A function only the
 * platform-certificate deployment has (cert-refresh) is read from that deployment's template. No network.
 */
function importEnvs(): Map<string, Record<string, string>> {
  const envs = new Map<string, Record<string, string>>();
  for (const mode of ["public_key", "platform_certificate"] as const) {
    const model = loadServiceModel({ wechatpayMode: mode });
    const { region, account } = model.synthesized;
    const queue = (role: string) => ({
      name: `wxcoupon-${role}`,
      url: `https://sqs.${region}.amazonaws.com/${account}/wxcoupon-${role}`,
      arn: `arn:aws:sqs:${region}:${account}:wxcoupon-${role}`,
    });
    const secret = (name: string) => `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
    const resolver = localResolver(model, {
      tableName: "wxcoupon",
      queues: Object.fromEntries(
        Object.keys(model.synthesized.logicalIds.queues).map((role) => [role, queue(role)]),
      ) as LocalResources["queues"],
      secretArn: secret("wxcoupon/merchant"),
      signingSecretArn: secret("wxcoupon/event-signing"),
      exportBucketName: model.exportBucket.name,
      eventBus: {
        name: model.eventBus.name,
        arn: `arn:aws:events:${region}:${account}:event-bus/${model.eventBus.name}`,
      },
    });
    for (const kind of Object.keys(model.functions) as FunctionKind[]) {
      if (envs.has(kind)) continue;
      const { NODE_OPTIONS: _flagUnderTest, ...environment } = resolveFunction(model, kind, resolver).environment;
      envs.set(kind, {
        ...environment,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "bench-only",
        AWS_SESSION_TOKEN: "bench-only",
        AWS_LAMBDA_FUNCTION_NAME: `wxcoupon-${kind}`,
      });
    }
  }
  return envs;
}

/** Same flags as CDK's `esbuild --bundle <entry> ...` for a WxFunction. */
async function bundle(entry: string, outdir: string): Promise<string> {
  const outfile = join(outdir, "index.mjs");
  await build({
    entryPoints: [entry],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: "node",
    format: "esm",
    target: WX_BUNDLING.target,
    minify: WX_BUNDLING.minify,
    sourcemap: WX_BUNDLING.sourceMap,
    sourcesContent: WX_BUNDLING.sourcesContent,
    mainFields: [...WX_BUNDLING.mainFields],
    banner: { js: WX_BUNDLING.banner },
    external: [...WX_BUNDLING.externalModules],
    outfile,
    logLevel: "silent",
  });
  return outfile;
}

function importOnce(file: string, env: Record<string, string>, sourceMaps: boolean): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const result = spawnSync(
    process.execPath,
    [...(sourceMaps ? ["--enable-source-maps"] : []), "--input-type=module", "-e", script],
    { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 30_000 },
  );
  if (result.status !== 0) {
    const output = result.stderr || result.stdout || `exit ${result.status}`;
    // Node echoes the (minified) source line before the error; keep only the "SomeError: message" line.
    const lines = output.split("\n");
    const message = (lines.find((l) => /^[A-Za-z]*Error\b.*:/.test(l)) ?? lines.find((l) => l.trim()) ?? "").slice(
      0,
      200,
    );
    throw new Error(message ?? "import failed");
  }
  return Number(result.stdout);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function measureBundles(options: MeasureOptions = {}): Promise<BundleMeasurement[]> {
  const runs = options.runs ?? 9;
  const functionsDir = join(REPO_ROOT, "functions");
  const entries = (
    options.entries ??
    readdirSync(functionsDir)
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
      .map((f) => join(functionsDir, f))
  ).filter((f) => !options.only || options.only.includes(basename(f, ".ts")));
  const envs = importEnvs();
  // A probe entry that is no function of the template gets every variable any function has.
  const anyFunction = Object.assign({}, ...envs.values()) as Record<string, string>;
  const work = mkdtempSync(join(tmpdir(), "wxcoupon-bundles-"));
  try {
    const built: { name: string; file: string; entry: string; env: Record<string, string> }[] = [];
    const failed: BundleMeasurement[] = [];
    for (const entry of entries) {
      const name = basename(entry, ".ts");
      try {
        built.push({ name, entry, file: await bundle(entry, join(work, name)), env: envs.get(name) ?? anyFunction });
      } catch (error) {
        // One entry that does not build yet (a handler mid-edit) must not hide the others' figures.
        const message = (error as Error).message.split("\n").find((l) => l.includes("ERROR")) ?? "bundle failed";
        failed.push({
          name,
          bytes: 0,
          gzipBytes: 0,
          sourceMapBytes: 0,
          withinBudget: false,
          placeholder: false,
          importMedianMs: undefined,
          importWithSourceMapsMedianMs: undefined,
          bundleError: message.trim(),
        });
      }
    }
    // Interleave bundles and modes so drift in machine load spreads evenly.
    const samples = new Map<string, { plain: number[]; maps: number[]; error?: string }>();
    for (const b of built) samples.set(b.name, { plain: [], maps: [] });
    for (let i = 0; i < runs; i++) {
      for (const b of built) {
        const s = samples.get(b.name)!;
        if (s.error) continue;
        try {
          s.plain.push(importOnce(b.file, b.env, false));
          s.maps.push(importOnce(b.file, b.env, true));
        } catch (error) {
          s.error = (error as Error).message;
        }
      }
    }
    const measured = built.map((b): BundleMeasurement => {
      const code = readFileSync(b.file);
      const s = samples.get(b.name)!;
      return {
        name: b.name,
        bytes: code.length,
        gzipBytes: gzipSync(code).length,
        sourceMapBytes: statSync(`${b.file}.map`).size,
        withinBudget: code.length < SIZE_BUDGET_BYTES,
        placeholder: readFileSync(b.entry, "utf8").startsWith("// PLACEHOLDER"),
        importMedianMs: s.plain.length ? median(s.plain) : undefined,
        importWithSourceMapsMedianMs: s.maps.length ? median(s.maps) : undefined,
        ...(s.error ? { importError: s.error } : {}),
      };
    });
    return [...measured, ...failed];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function formatTable(results: BundleMeasurement[], runs: number): string {
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  const ms = (n: number | undefined) => (n === undefined ? "–" : `${n.toFixed(0)} ms`);
  const rows = results.map((r) => [
    r.name + (r.placeholder ? " (placeholder)" : ""),
    kb(r.bytes),
    kb(r.gzipBytes),
    kb(r.sourceMapBytes),
    r.bundleError ? "–" : r.withinBudget ? "ok" : `OVER ${kb(SIZE_BUDGET_BYTES)}`,
    ms(r.importMedianMs),
    ms(r.importWithSourceMapsMedianMs),
    r.bundleError ? `bundle failed: ${r.bundleError}` : (r.importError ?? ""),
  ]);
  const header = ["function", "minified", "gzip", "map", "budget", `import (median of ${runs})`, "+source maps", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsIndex = args.indexOf("--runs");
  const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : 9;
  const entries = args.filter((a, i) => a.endsWith(".ts") && args[i - 1] !== "--runs");
  const results = await measureBundles({
    runs,
    ...(entries.length ? { entries: entries.map((e) => resolve(e)) } : {}),
  });
  if (args.includes("--json")) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else
    process.stdout.write(
      `${formatTable(results, runs)}\n(node ${process.version}; esbuild target ${WX_BUNDLING.target})\n`,
    );
  if (results.some((r) => !r.withinBudget)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
