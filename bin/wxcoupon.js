#!/usr/bin/env node
// The wxcoupon command: loads the TypeScript sources through tsx, then runs shared/cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../shared/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
