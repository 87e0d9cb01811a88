import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * Every npm script, `npx wxcoupon` and these test workers run on the Node.js that package.json pins as the `node`
 * devDependency (the npm package that installs the official build, https://www.npmjs.com/package/node): npm puts
 * node_modules/.bin first on PATH for scripts, so `#!/usr/bin/env node` finds it before the machine's own Node.
 * These checks fail when that chain breaks, e.g. vitest started by a Node from elsewhere.
 */
const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  engines: { node: string };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};
const pinned = pkg.devDependencies["node"]!;
const major = pinned.split(".")[0];

describe("Node.js version", () => {
  it("pins one exact release", () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it(`runs the tests on the pinned major (this worker: ${process.version})`, () => {
    expect(process.versions.node.split(".")[0]).toBe(major);
  });

  it("says the same major in engines.node", () => {
    expect(pkg.engines.node).toBe(`${major}.x`);
  });

  it("types Node's API for the same major (@types/node)", () => {
    expect(pkg.devDependencies["@types/node"]?.split(".")[0]).toBe(major);
  });

  it("installs with npm running on the pinned release (npm run setup)", () => {
    expect(pkg.scripts["setup"]).toBe(`npm exec --yes --package=node@${pinned} -- npm ci`);
  });
});
