import { App } from "aws-cdk-lib";
import { buildWxcoupon } from "./build.js";
import { ConfigError } from "./config.js";

// Entry for the CDK CLI (cdk.json "app"). Context keys: infra/config.ts. Reads nothing outside the repository and
// nothing from the network.
const app = new App();
try {
  buildWxcoupon(app);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n(pass -c key=value or set context.environments.<env> in cdk.json)\n`);
    process.exit(1);
  }
  throw error;
}
app.synth();
