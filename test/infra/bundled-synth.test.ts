import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WX_BUNDLING } from "../../infra/constructs/wx-function.js";
import { buildTestApp } from "./test-app.js";

type Resource = { Type: string; Properties: Record<string, unknown> };

describe("bundled synth (esbuild on, cdk-nag on)", () => {
  it("bundles every function as a minified ESM index.mjs with the createRequire banner and a source map", () => {
    const built = buildTestApp(
      { wechatpayMode: "platform_certificate" },
      { bundle: true, nag: true, templates: false },
    );
    expect(() => built.app.synth()).not.toThrow();

    const template = JSON.parse(readFileSync(join(built.outdir, `${built.service.stackName}.template.json`), "utf8"));
    const functions = Object.values(template.Resources as Record<string, Resource>).filter(
      (r) => r.Type === "AWS::Lambda::Function",
    );
    // api, send-worker, notify, reconcile, sweeper, events-publisher, event-forwarder, export and
    // (platform-certificate mode) cert-refresh
    expect(functions).toHaveLength(9);
    for (const fn of functions) {
      const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
      const assetDir = join(built.outdir, `asset.${s3Key.replace(/\.zip$/, "")}`);
      const code = readFileSync(join(assetDir, "index.mjs"), "utf8");
      expect(code.startsWith(WX_BUNDLING.banner)).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*handler/);
      const mapPath = join(assetDir, "index.mjs.map");
      expect(existsSync(mapPath)).toBe(true);
      // sourcesContent:false keeps the sources (and their comments) out of the deployed zip.
      expect(JSON.parse(readFileSync(mapPath, "utf8")).sourcesContent).toBeUndefined();
    }
  });
});
