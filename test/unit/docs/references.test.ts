import { readdirSync, readFileSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Every reference in the repository can be followed by someone who has only the repository: `docs/<file>.md#<anchor>`
 * names a file and a heading that exist, and nothing cites a document that lives outside it (the notes the project
 * was started from). Each failure is reported as `file:line: problem`.
 *
 * This file is left out of the scan: it has to spell the patterns it looks for.
 */

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const SELF = "test/unit/docs/references.test.ts";
const SKIPPED_DIRECTORIES = new Set(["node_modules", ".git", "cdk.out", ".local"]);
const SCANNED_EXTENSIONS = [".ts", ".js", ".md"];

/** Repository files by path relative to the root, with `/` separators. */
type Repository = ReadonlyMap<string, string>;

/** Citations of documents that are not in the repository, with what to say about each. */
const OUTSIDE_CITATIONS: ReadonlyArray<{ pattern: RegExp; problem: string }> = [
  { pattern: /\bspec\s*§/i, problem: "cites a section of a spec that is not in the repository" },
  { pattern: /\bspec [ERSVN]\d/, problem: "cites a numbered item of a spec that is not in the repository" },
  { pattern: /(?<!docs\/)\baws-notes(?:\.md)?\s*§/, problem: "cites a section of aws-notes outside docs/" },
  { pattern: /(?<!docs\/)\blocal-stack\.md\s*§/, problem: "cites a section of local-stack.md outside docs/" },
  { pattern: /(?<!RFC \d{3,5} )§\s*\d/, problem: "cites a numbered section (§) of no document in the repository" },
  { pattern: /\bseed[- ]step\b|\bseed[- ]guide\b/i, problem: "cites the seed guide, which is not in the repository" },
  {
    pattern: /(?<!docs\/)\b(?:architecture|official-models-review|style-review|style|wechat-cashcoupons)\.md\b/,
    problem: "cites a design note that is not in the repository",
  },
  { pattern: /\bteam (?:spec|kit)\b/i, problem: "cites the team kit, which is not in the repository" },
  {
    pattern: /(?<![\w./])\.\.\/shared(?:\/(?:spec|design|hooks)\b|(?![\w/]))/,
    problem: "points at ../shared outside the repository",
  },
];
/** Outside the docs folder, naming these files without `docs/` cites the kit's copies. */
const BARE_DOC_NAMES = /(?<![\w./-])(?:aws-notes|local-stack)\.md\b/;

/**
 * `docs/<path>.md` and `docs/<path>.md#<anchor>` wherever they appear (prose, comments, links), alone or after `../`
 * steps; not a `docs/` folder inside another path or URL (`…/blob/main/docs/features/tracer.md`).
 */
const DOCS_REFERENCE = /(?<=(?:^|[^\w./:-])(?:\.\.?\/)*)docs\/((?:[\w.-]+\/)*[\w.-]+\.md)(?:#([\p{L}\p{N}_-]+))?/gu;
/** Relative Markdown links inside docs/: `[text](file.md#anchor)`, `[text](#anchor)`. */
const RELATIVE_LINK = /\]\((?!https?:|\/|docs\/)([\w./-]*?\.md)?(?:#([\p{L}\p{N}_-]+))?\)/gu;

/** GitHub's heading anchor: lower case, punctuation dropped (`_` and `-` kept), each space a hyphen. */
function githubAnchor(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/[`*]/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown file offers: its headings (duplicates numbered as GitHub does) and explicit `id`s. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const fenceMark = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fenceMark !== undefined) {
      if (fence === undefined) fence = fenceMark[0];
      else if (fenceMark[0] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = githubAnchor(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(match[1] ?? "");
  }
  return anchors;
}

/** `file:line: problem` for every citation of a document that is not in the repository. */
function outsideCitations(repository: Repository): string[] {
  const failures: string[] = [];
  for (const [path, text] of repository) {
    const inDocs = path.startsWith("docs/");
    text.split("\n").forEach((line, index) => {
      // One failure per line, the first problem found: enough to find the line, without repeating it.
      const problem =
        OUTSIDE_CITATIONS.find(({ pattern }) => pattern.test(line))?.problem ??
        (!inDocs && BARE_DOC_NAMES.test(line) ? "names a note without its docs/ path" : undefined);
      if (problem !== undefined) failures.push(`${path}:${index + 1}: ${problem}: ${line.trim()}`);
    });
  }
  return failures;
}

/** `file:line: problem` for every docs reference whose file or heading anchor does not exist. */
function brokenDocReferences(repository: Repository): string[] {
  const failures: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (path: string): Set<string> | undefined => {
    const text = repository.get(path);
    if (text === undefined) return undefined;
    let anchors = anchorCache.get(path);
    if (anchors === undefined) {
      anchors = headingAnchors(text);
      anchorCache.set(path, anchors);
    }
    return anchors;
  };
  const check = (where: string, target: string, anchor: string | undefined, shown: string) => {
    const anchors = anchorsOf(target);
    if (anchors === undefined) failures.push(`${where}: ${shown}: no file ${target}`);
    else if (anchor !== undefined && !anchors.has(anchor)) failures.push(`${where}: ${shown}: no heading #${anchor}`);
  };
  for (const [path, text] of repository) {
    text.split("\n").forEach((line, index) => {
      const where = `${path}:${index + 1}`;
      for (const match of line.matchAll(DOCS_REFERENCE)) {
        check(where, `docs/${match[1]}`, match[2], match[0]);
      }
      if (path.startsWith("docs/") && path.endsWith(".md")) {
        for (const match of line.matchAll(RELATIVE_LINK)) {
          const target = match[1] ? posix.normalize(posix.join(posix.dirname(path), match[1])) : path;
          check(where, target, match[2], match[0]);
        }
      }
    });
  }
  return failures;
}

/** The repository's `.ts`, `.js` and `.md` files, without dependencies, build output and local state. */
function readRepository(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const full = join(directory, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(entry.name)) walk(full);
      } else if (entry.isFile() && SCANNED_EXTENSIONS.some((extension) => entry.name.endsWith(extension))) {
        const path = relative(root, full).split(sep).join("/");
        if (path !== SELF) files.set(path, readFileSync(full, "utf8"));
      }
    }
  };
  walk(root);
  return files;
}

describe("references in the repository", () => {
  const repository = readRepository(ROOT);

  it("scans the code and the docs folder", () => {
    expect(repository.has("docs/README.md")).toBe(true);
    expect(repository.has("shared/wechatpay/client.ts")).toBe(true);
    expect([...repository.keys()].some((path) => path.startsWith("node_modules/"))).toBe(false);
  });

  it("cite no document that is outside the repository", () => {
    const failures = outsideCitations(repository);
    expect(failures, `\n${failures.join("\n")}\n`).toEqual([]);
  });

  it("name docs files and headings that exist", () => {
    const failures = brokenDocReferences(repository);
    expect(failures, `\n${failures.join("\n")}\n`).toEqual([]);
  });
});

describe("the reference checks themselves", () => {
  const repo = (files: Record<string, string>): Repository => new Map(Object.entries(files));
  const docs = {
    "docs/aws-notes.md": "# AWS notes\n\n## Partial batch responses\n\n```\n# not a heading\n```\n",
    "docs/wechatpay-cash-coupons.md": "## Send coupon (E6)\n\n## Holding WeChat's send rate\n\n## AEAD_AES_256_GCM\n",
  };

  it("computes GitHub's anchors", () => {
    expect(githubAnchor("Send coupon (E6)")).toBe("send-coupon-e6");
    expect(githubAnchor("Holding WeChat's send rate")).toBe("holding-wechats-send-rate");
    expect(githubAnchor("AEAD_AES_256_GCM")).toBe("aead_aes_256_gcm");
    expect(githubAnchor("Use-flow and refund-flow files (E13, E14)")).toBe("use-flow-and-refund-flow-files-e13-e14");
    expect(githubAnchor("Worked example: `send-worker` timeout")).toBe("worked-example-send-worker-timeout");
    expect(githubAnchor("列表 offset")).toBe("列表-offset");
    expect([...headingAnchors('# A\n## A\n```\n## B\n```\n<a id="c"></a>\n')]).toEqual(["a", "a-1", "c"]);
  });

  it("flags every kind of outside citation, with its file and line", () => {
    const section = "§";
    const failures = outsideCitations(
      repo({
        "shared/a.ts": `// fine\n/** WeChat answers it (spec ${section}1.14). */`,
        "shared/b.ts": `// 80 % of the limit (aws-notes ${section}5)`,
        "local/c.ts": `/* quirks (local-stack.md ${section}1) */`,
        "local/d.md": "see seed step 12, then the rate limit (spec E6)",
        "e.md": "as ../shared/spec/wechat-cashcoupons.md says; and ../shared alone",
        "f.ts": `// §4: replays; architecture.md has the data model`,
        "g.ts": "// see aws-notes.md for the numbers",
      }),
    );
    expect(failures.map((f) => f.slice(0, f.indexOf(": ")))).toEqual([
      "shared/a.ts:2",
      "shared/b.ts:1",
      "local/c.ts:1",
      "local/d.md:1",
      "e.md:1",
      "f.ts:1",
      "g.ts:1",
    ]);
    expect(failures[0]).toBe(
      `shared/a.ts:2: cites a section of a spec that is not in the repository: /** WeChat answers it (spec ${section}1.14). */`,
    );
  });

  it("leaves alone what is not an outside citation", () => {
    expect(
      outsideCitations(
        repo({
          "shared/der.ts": "/** GeneralizedTime after 2050 (RFC 5280 §4.1.2.5). */",
          "infra/settings.ts": 'export { X } from "../shared/config/queue-settings.js";',
          "test/bench/a.ts": 'import { b } from "../../shared/wechatpay/crypto/nonce.js";',
          "shared/c.ts": "// the rule (docs/aws-notes.md#partial-batch-responses); spec.label stays a variable",
          "docs/README.md": "[aws-notes.md](aws-notes.md) and [local-stack.md](local-stack.md)",
        }),
      ),
    ).toEqual([]);
  });

  it("flags a docs reference to a missing file or heading, and accepts the ones that exist", () => {
    const failures = brokenDocReferences(
      repo({
        ...docs,
        "shared/a.ts": [
          "// docs/aws-notes.md#partial-batch-responses",
          "// docs/aws-notes.md#not-a-heading",
          "// docs/missing.md",
          "// docs/wechatpay-cash-coupons.md#send-coupon-e6 and docs/wechatpay-cash-coupons.md#aead_aes_256_gcm",
          "// (docs/wechatpay-cash-coupons.md#holding-wechats-send-rate).",
        ].join("\n"),
        "README.md": "[the notes](docs/aws-notes.md) and [gone](docs/wechatpay-cash-coupons.md#send-coupon)",
        "test/fixtures/README.md":
          "[up](../../docs/aws-notes.md#partial-batch-responses), [x](../../docs/aws-notes.md#x)",
        "shared/b.ts": "// https://github.com/o/r/blob/main/docs/features/tracer.md and test/unit/docs/notes.md",
        "docs/README.md": "[ok](aws-notes.md#partial-batch-responses), [bad](aws-notes.md#nope), [self](#nothing)",
      }),
    );
    expect(failures).toEqual([
      "shared/a.ts:2: docs/aws-notes.md#not-a-heading: no heading #not-a-heading",
      "shared/a.ts:3: docs/missing.md: no file docs/missing.md",
      "README.md:1: docs/wechatpay-cash-coupons.md#send-coupon: no heading #send-coupon",
      "test/fixtures/README.md:1: docs/aws-notes.md#x: no heading #x",
      "docs/README.md:1: ](aws-notes.md#nope): no heading #nope",
      "docs/README.md:1: ](#nothing): no heading #nothing",
    ]);
  });
});
