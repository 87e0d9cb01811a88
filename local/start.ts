import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startLocalStack } from "./stack/start-local-stack.js";

const USAGE = `Usage: npm start [-- --fresh] [-- --port 3000] [-- --simulator-port 3100] [-- --data-dir .local]

Runs wxcoupon locally: the WeChat Pay simulator, DynamoDB/SQS/Secrets Manager stand-ins, the API and webhook, and the
send worker. State (keys, table, queued messages, the simulator's coupons) lives in the data folder (git-ignored) and
survives a restart, Ctrl-C or a crash; --fresh starts clean.`;

async function main(): Promise<number> {
  let values: { fresh?: boolean; port?: string; "simulator-port"?: string; "data-dir"?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        fresh: { type: "boolean" },
        port: { type: "string" },
        "simulator-port": { type: "string" },
        "data-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  const simulatorPort = Number(values["simulator-port"] ?? 3100);
  if (!Number.isInteger(port) || !Number.isInteger(simulatorPort)) {
    console.error(`--port and --simulator-port must be integers\n\n${USAGE}`);
    return 2;
  }
  const dataDir = resolve(values["data-dir"] ?? ".local");
  const stack = await startLocalStack({ dataDir, fresh: values.fresh ?? false, apiPort: port, simulatorPort });
  const kept = stack.emulators.restoredMessages;
  console.log(`wxcoupon is running locally (state in ${dataDir}; details in ${dataDir}/stack.json)

  API          ${stack.apiUrl}        (Authorization: Bearer ${stack.token})
               that token reaches every route; for send and read routes only (what an app issuing coupons
               gets; admin routes answer 403): Bearer ${stack.sendToken}
  Webhook      ${stack.apiUrl}/notify/wechatpay   (the simulator's COUPON.USE callback)
  Simulator    ${stack.simulatorUrl}  (control API under /_simulator/)
  Merchant     mchid ${stack.mchid}, appid ${stack.appid}
  Node.js      ${process.version}      (${process.execPath})
  Queues       ${kept === 0 ? "empty" : `${kept} message(s) kept from the last run, back on their queues`}

Try:
  curl -s ${stack.apiUrl}/stocks -H 'authorization: Bearer ${stack.token}'
  curl -s ${stack.apiUrl}/openapi.json -H 'authorization: Bearer ${stack.token}'
  (README.md "Quick start" walks through a stock, a coupon, a campaign and a notification)

Ctrl-C stops everything.`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  console.log("stopping…");
  await stack.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`wxcoupon local stack failed to start: ${(error as Error).message}`);
    process.exit(1);
  },
);
