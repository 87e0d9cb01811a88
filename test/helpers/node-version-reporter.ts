import type { Reporter } from "vitest/node";

/**
 * Prints the Node.js running vitest (its workers are forked from the same binary) first, so every test log says which
 * Node it was: package.json's `node` devDependency when run through npm or npx (test/unit/toolchain checks it).
 */
export class NodeVersionReporter implements Reporter {
  onInit(): void {
    process.stdout.write(`Node.js ${process.version} (${process.execPath})\n`);
  }
}
