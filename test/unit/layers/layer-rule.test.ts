import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The layer table of CONTRIBUTING.md is enforced by Biome's noRestrictedImports overrides in biome.json, which
 * `npm test` runs over the tree (npm run lint). This checks the rule itself: the repository's own biome.json, copied
 * beside probe files at the paths they would have in the repository, refuses each upward import and accepts the
 * imports each layer is meant to make.
 */
const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "layer-rule-"));
  const config = JSON.parse(readFileSync("biome.json", "utf8")) as Record<string, unknown>;
  delete config.$schema;
  writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The restricted-import diagnostics Biome reports for a file at `path` that imports `specifier`. */
function lint(path: string, specifier: string): string[] {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `import { x } from "${specifier}";\n\nexport const y = x;\n`);
  try {
    execFileSync(process.execPath, [biome, "lint", "--max-diagnostics=50", path], { cwd: dir, stdio: "pipe" });
    return [];
  } catch (error) {
    const output = String((error as { stdout?: Buffer }).stdout ?? "") + String((error as { stderr?: Buffer }).stderr);
    return output.split("\n").filter((line) => line.includes("lint/style/noRestrictedImports"));
  } finally {
    rmSync(file);
  }
}

describe("layer rule (biome.json noRestrictedImports overrides)", () => {
  it.each([
    ["shared/adapters/dynamodb/probe.ts", "../../runtime/build-api-function.js"],
    ["shared/adapters/wechatpay/probe.ts", "#shared/edges/http/api/services.js"],
    ["shared/domain/sends/probe.ts", "../../adapters/dynamodb/dynamodb-send-ledger.js"],
    ["shared/domain/campaigns/probe.ts", "../../config/env.js"],
    ["shared/domain/probe.ts", "@aws-sdk/client-dynamodb"],
    ["shared/edges/http/api/probe.ts", "../../../runtime/build-api-function.js"],
    ["shared/edges/sqs/probe.ts", "../../adapters/sqs/sqs-send-queue.js"],
    ["shared/wechatpay/favor/probe.ts", "../../domain/ports.js"],
    ["shared/observability/probe.ts", "../domain/ports.js"],
    ["shared/cli/probe.ts", "../runtime/build-api-function.js"],
    ["functions/probe.ts", "#shared/adapters/dynamodb/dynamodb-send-ledger.js"],
    ["infra/stacks/probe.ts", "#shared/runtime/build-api-function.js"],
    ["local/simulator/probe.ts", "#shared/wechatpay/client.js"],
  ])("refuses %s importing %s", (path, specifier) => {
    expect(lint(path, specifier)).toHaveLength(1);
  });

  it.each([
    ["shared/domain/sends/probe.ts", "../ports.js"],
    ["shared/domain/probe.ts", "../wechatpay/favor/types.js"],
    ["shared/adapters/dynamodb/probe.ts", "../../domain/ports.js"],
    ["shared/edges/http/api/probe.ts", "../../../domain/sends/send-coupon.js"],
    ["shared/runtime/probe.ts", "../adapters/dynamodb/dynamodb-send-ledger.js"],
    ["functions/probe.ts", "#shared/runtime/build-api-function.js"],
    ["infra/stacks/probe.ts", "#shared/edges/http/routes.js"],
    ["local/stack/probe.ts", "#shared/runtime/build-api-function.js"],
    ["local/simulator/probe.ts", "#shared/devkeys/der.js"],
  ])("accepts %s importing %s", (path, specifier) => {
    expect(lint(path, specifier)).toEqual([]);
  });
});
