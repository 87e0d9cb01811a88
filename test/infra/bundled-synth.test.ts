import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { LAMBDA_UNREACHED_CREDENTIAL_PROVIDERS, WX_BUNDLING } from "../../infra/constructs/wx-function.js";
import { buildTestApp } from "./test-app.js";

type Resource = { Type: string; Properties: Record<string, unknown> };

describe("bundled synth (esbuild on, cdk-nag on)", () => {
  it("bundles every function as a minified ESM index.mjs with the createRequire banner and a source map", async () => {
    const built = buildTestApp(
      { wechatpayMode: "platform_certificate" },
      { bundle: true, nag: true, templates: false },
    );
    expect(() => built.app.synth()).not.toThrow();

    const template = JSON.parse(readFileSync(join(built.outdir, `${built.service.stackName}.template.json`), "utf8"));
    const functions = Object.values(template.Resources as Record<string, Resource>).filter(
      (r) => r.Type === "AWS::Lambda::Function",
    );
    // api, send-api, send-worker, notify, reconcile, sweeper, events-publisher, event-forwarder, export and
    // (platform-certificate mode) cert-refresh
    expect(functions).toHaveLength(10);
    for (const fn of functions) {
      const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const assetDir = join(built.outdir, `asset.${s3Key.replace(/\.zip$/, "")}`);
      const code = readFileSync(join(assetDir, "index.mjs"), "utf8");
      expect(code.startsWith(WX_BUNDLING.banner)).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*handler/);
      // What the bundle loads from outside itself, as esbuild parses it: at init (static imports, require calls) only
      // Node's builtins; the credential links left out (LAMBDA_UNREACHED_CREDENTIAL_PROVIDERS) only through a dynamic
      // import(), which Lambda never reaches. A static import of one would fail every cold start.
      const parsed = await build({
        entryPoints: [join(assetDir, "index.mjs")],
        bundle: true,
        write: false,
        metafile: true,
        platform: "node",
        format: "esm",
        packages: "external",
        logLevel: "silent",
      });
      const imports = Object.values(parsed.metafile.inputs).flatMap((input) => input.imports);
      const loadedAtInit = imports.filter((i) => i.kind !== "dynamic-import").map((i) => i.path);
      expect(loadedAtInit.filter((name) => !isBuiltin(name))).toEqual([]);
      const loadedLazily = imports.filter((i) => i.kind === "dynamic-import").map((i) => i.path);
      expect(
        loadedLazily.filter((name) => !isBuiltin(name) && !LAMBDA_UNREACHED_CREDENTIAL_PROVIDERS.includes(name)),
      ).toEqual([]);
      const mapPath = join(assetDir, "index.mjs.map");
      expect(existsSync(mapPath)).toBe(true);
      // sourcesContent:false keeps the sources (and their comments) out of the deployed zip.
      expect(JSON.parse(readFileSync(mapPath, "utf8")).sourcesContent).toBeUndefined();
    }
  }, 180_000); // nine esbuild bundles and cdk-nag: ~25 s on a quiet machine
});
