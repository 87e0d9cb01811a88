import type { App } from "aws-cdk-lib";
import { readConfig, type WxConfig } from "./config.js";
import { type Acknowledgement, addNagChecks, applyAcknowledgements } from "./nag.js";
import { ServiceStack } from "./stacks/service-stack.js";
import { StatefulStack } from "./stacks/stateful-stack.js";

const CROSS_STACK_REFERENCES_FLAG = "@aws-cdk/core:defaultCrossStackReferences";

export interface BuildOptions {
  /** Register cdk-nag AwsSolutions (default true). */
  nag?: boolean;
  /** Which recorded acknowledgements to apply (default all); tests drop one to prove it is needed. */
  acknowledge?: (acknowledgement: Acknowledgement) => boolean;
}

export interface WxcouponStacks {
  config: WxConfig;
  stateful: StatefulStack;
  service: ServiceStack;
  acknowledgements: readonly Acknowledgement[];
}

/** Builds both stacks of one environment into `app` from its context (see infra/config.ts for the keys). */
export function buildWxcoupon(app: App, options: BuildOptions = {}): WxcouponStacks {
  const config = readConfig((key) => app.node.tryGetContext(key));
  // Stateful → service references are CloudFormation exports ("strong"): CloudFormation then refuses to delete a
  // table or queue the service stack still uses. Explicit, so CDK does not warn about the default changing.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES_FLAG) === undefined && app.node.children.length === 0) {
    app.node.setContext(CROSS_STACK_REFERENCES_FLAG, "strong");
  }
  const env = { account: config.account, region: config.region };
  const prefix = `wxcoupon-${config.envName}`;

  const stateful = new StatefulStack(app, `${prefix}-stateful`, {
    env,
    config,
    description: `wxcoupon ${config.envName}: table, queues, merchant secret`,
  });
  const service = new ServiceStack(app, `${prefix}-service`, {
    env,
    config,
    description: `wxcoupon ${config.envName}: HTTP API, functions, alarms, dashboard`,
    table: stateful.table,
    sendQueue: stateful.sendQueue,
    sendDlq: stateful.sendDlq,
    sendQueueVisibility: stateful.sendQueueVisibility,
    eventsQueue: stateful.eventsQueue,
    eventsDlq: stateful.eventsDlq,
    eventBus: stateful.eventBus,
    streamFailureDlq: stateful.streamFailureDlq,
    forwardQueue: stateful.forwardQueue,
    forwardDlq: stateful.forwardDlq,
    signingSecret: stateful.signingSecret,
    secret: stateful.secret,
    exportQueue: stateful.exportQueue,
    exportDlq: stateful.exportDlq,
  });

  const acknowledgements = [...stateful.acknowledgements, ...service.acknowledgements];
  if (options.nag ?? true) {
    addNagChecks(app);
    applyAcknowledgements(acknowledgements.filter(options.acknowledge ?? (() => true)));
  }
  for (const stack of [stateful, service]) {
    stack.tags.setTag("app", "wxcoupon");
    stack.tags.setTag("env", config.envName);
  }
  return { config, stateful, service, acknowledgements };
}
