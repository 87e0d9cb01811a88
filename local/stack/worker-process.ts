/**
 * The send worker and its event source mapping as their own process: reliability tests kill it with SIGKILL at random
 * points and start it again, as Lambda may lose an execution environment mid-batch. Runs exactly what the stack runs
 * in-process (`startSqsMapping`: template limits, IAM through the stack's proxies), from the configuration the
 * running stack hands out (`LocalStack.sendWorkerProcessEnv()`, variable WXCOUPON_SQS_MAPPING).
 */
import { type SqsMappingConfig, startSqsMapping } from "./sqs-mapping.js";

const raw = process.env.WXCOUPON_SQS_MAPPING;
if (!raw) throw new Error("WXCOUPON_SQS_MAPPING is not set: spawn with LocalStack.sendWorkerProcessEnv()");
const mapping = startSqsMapping(JSON.parse(raw) as SqsMappingConfig, (line) => console.error(line));
process.send?.("ready");
const stop = () => {
  mapping.stop().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
