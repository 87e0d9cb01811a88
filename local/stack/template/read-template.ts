import type { FunctionKind } from "../../../infra/constructs/wx-function.js";
import type { CfnTemplate } from "./intrinsics.js";
import { type QueueRole, type SynthesizedApp, synthesizeApp } from "./synthesize.js";

/** An IAM policy statement as the template holds it (values may still be intrinsics). */
export interface TemplateStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface FunctionSpec {
  kind: FunctionKind;
  logicalId: string;
  /** Environment variables, unresolved (resource names are `Fn::ImportValue`s). */
  environment: Record<string, unknown>;
  /** Seconds; CloudFormation's default is 3 (AWS::Lambda::Function `Timeout`). */
  timeoutSeconds: number;
  /** MB; CloudFormation's default is 128. */
  memorySize: number;
  reservedConcurrency?: number;
  roleLogicalId: string;
  /** Every statement of every inline (AWS::IAM::Policy) and managed policy attached to the role. */
  statements: TemplateStatement[];
}

export interface EventSourceMappingSpec {
  functionKind: FunctionKind;
  eventSourceArn: unknown;
  /** Default 10 for SQS (AWS::Lambda::EventSourceMapping `BatchSize`). */
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  maximumConcurrency?: number;
  functionResponseTypes: string[];
  enabled: boolean;
  /** Stream sources only (AWS::Lambda::EventSourceMapping for DynamoDB streams). */
  stream?: {
    startingPosition: string;
    /** -1 (Lambda's default for streams): until the record leaves the stream. */
    maximumRetryAttempts: number;
    /** -1 (Lambda's default for streams): until the record leaves the stream. */
    maximumRecordAgeInSeconds: number;
    bisectBatchOnFunctionError: boolean;
    /** DestinationConfig.OnFailure.Destination, unresolved. */
    onFailureDestination?: unknown;
  };
  /** FilterCriteria.Filters[].Pattern, parsed. */
  filters: Record<string, unknown>[];
}

/** AWS::Events::Rule on the service's bus: its pattern and queue targets (values may still be intrinsics). */
export interface RuleSpec {
  logicalId: string;
  pattern: Record<string, unknown>;
  targets: { id: string; arn: unknown; deadLetterArn?: unknown; maximumRetryAttempts: number }[];
}

export interface EventBusSpec {
  logicalId: string;
  name: string;
  rules: RuleSpec[];
}

export interface QueueSpec {
  role: QueueRole;
  logicalId: string;
  /** Seconds; SQS's default is 30. */
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds?: number;
  redrive?: { maxReceiveCount: number; deadLetterRole: QueueRole };
}

export interface KeySpec {
  name: string;
  type: "S" | "N" | "B";
}

export interface TableSpec {
  logicalId: string;
  partitionKey: KeySpec;
  sortKey?: KeySpec;
  globalSecondaryIndexes: { indexName: string; partitionKey: KeySpec; sortKey?: KeySpec; projection: string }[];
  timeToLiveAttribute?: string;
  billingMode: string;
  /** StreamSpecification.StreamViewType, when the table has a stream. */
  streamViewType?: string;
}

export interface RouteSpec {
  method: string;
  path: string;
  /** `NONE`, `AWS_IAM`, `JWT` or `CUSTOM`, as on AWS::ApiGatewayV2::Route. */
  authorizationType: string;
  functionKind: FunctionKind;
  /** The stage's throttle for this route: its RouteSettings entry, else the stage's DefaultRouteSettings. */
  throttle?: { rateLimit: number; burstLimit: number };
}

/** The export bucket as the template declares it: what the local stand-in creates and applies. */
export interface BucketSpec {
  logicalId: string;
  name: string;
  /** Days after which the lifecycle rule deletes an object. */
  expirationDays?: number;
  /** Days after which an unfinished multipart upload is aborted. */
  abortIncompleteUploadDays?: number;
  /** The bucket policy denies requests without TLS (enforceSSL). */
  tlsOnly: boolean;
  encryption?: string;
}

/**
 * A schedule that invokes a function on a fixed rate: an EventBridge rule (AWS::Events::Rule `ScheduleExpression`) or
 * an EventBridge Scheduler schedule (AWS::Scheduler::Schedule).
 */
export interface ScheduleSpec {
  logicalId: string;
  functionKind: FunctionKind;
  /** From `rate(N unit)`; cron expressions are refused (the local stack has no use for them yet). */
  rateSeconds: number;
  enabled: boolean;
  /** The event the target receives: EventBridge's "Scheduled Event", or Scheduler's `Input` (`{}` when none). */
  source: "events" | "scheduler";
}

/** What the local stack takes from the synthesized app: one source of truth with what CloudFormation deploys. */
export interface ServiceModel {
  synthesized: SynthesizedApp;
  functions: Partial<Record<FunctionKind, FunctionSpec>>;
  eventSourceMappings: EventSourceMappingSpec[];
  queues: Record<QueueRole, QueueSpec>;
  table: TableSpec;
  exportBucket: BucketSpec;
  routes: RouteSpec[];
  schedules: ScheduleSpec[];
  eventBus: EventBusSpec;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Reads the model out of the synthesized templates. Throws on anything it cannot read: a silent default is a lie. */
export function readServiceModel(synthesized: SynthesizedApp): ServiceModel {
  const stateful = synthesized.templates[synthesized.statefulStackName]!;
  const service = synthesized.templates[synthesized.serviceStackName]!;
  const ids = synthesized.logicalIds;
  const kindOf = new Map(Object.entries(ids.functions).map(([kind, id]) => [id, kind as FunctionKind]));
  const roleOfQueue = new Map(Object.entries(ids.queues).map(([role, id]) => [id, role as QueueRole]));

  const functions: Partial<Record<FunctionKind, FunctionSpec>> = {};
  for (const [kind, id] of Object.entries(ids.functions) as [FunctionKind, string][]) {
    const props = propertiesOf(service, id, "AWS::Lambda::Function");
    const roleLogicalId = getAttId(props.Role, "Arn", `${id}.Role`);
    functions[kind] = {
      kind,
      logicalId: id,
      environment: ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>,
      timeoutSeconds: Number(props.Timeout ?? 3),
      memorySize: Number(props.MemorySize ?? 128),
      ...(props.ReservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrency: Number(props.ReservedConcurrentExecutions) }),
      roleLogicalId,
      statements: roleStatements(service, roleLogicalId),
    };
  }

  const eventSourceMappings: EventSourceMappingSpec[] = [];
  for (const [id, resource] of Object.entries(service.Resources)) {
    if (resource.Type !== "AWS::Lambda::EventSourceMapping") continue;
    const props = resource.Properties ?? {};
    const fnId = refId(props.FunctionName, `${id}.FunctionName`);
    const functionKind = kindOf.get(fnId);
    if (!functionKind) throw new Error(`event source mapping ${id} targets unknown function ${fnId}`);
    const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
    const filters = ((props.FilterCriteria as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? []).map(
      (f) => JSON.parse(f.Pattern) as Record<string, unknown>,
    );
    const onFailure = (props.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure;
    const stream =
      props.StartingPosition === undefined
        ? undefined
        : {
            startingPosition: String(props.StartingPosition),
            maximumRetryAttempts: Number(props.MaximumRetryAttempts ?? -1),
            maximumRecordAgeInSeconds: Number(props.MaximumRecordAgeInSeconds ?? -1),
            bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true,
            ...(onFailure?.Destination === undefined ? {} : { onFailureDestination: onFailure.Destination }),
          };
    eventSourceMappings.push({
      functionKind,
      eventSourceArn: props.EventSourceArn,
      batchSize: Number(props.BatchSize ?? 10),
      maximumBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
      ...(scaling?.MaximumConcurrency === undefined ? {} : { maximumConcurrency: scaling.MaximumConcurrency }),
      functionResponseTypes: (props.FunctionResponseTypes as string[] | undefined) ?? [],
      enabled: props.Enabled !== false,
      filters,
      ...(stream ? { stream } : {}),
    });
  }

  const queues = {} as Record<QueueRole, QueueSpec>;
  for (const [role, id] of Object.entries(ids.queues) as [QueueRole, string][]) {
    const props = propertiesOf(stateful, id, "AWS::SQS::Queue");
    const redrive = props.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: number } | undefined;
    let redriveSpec: QueueSpec["redrive"];
    if (redrive) {
      const dlqId = getAttId(redrive.deadLetterTargetArn, "Arn", `${id}.RedrivePolicy`);
      const deadLetterRole = roleOfQueue.get(dlqId);
      if (!deadLetterRole) throw new Error(`queue ${id}: DLQ ${dlqId} is not one of the known queues`);
      redriveSpec = { maxReceiveCount: Number(redrive.maxReceiveCount), deadLetterRole };
    }
    queues[role] = {
      role,
      logicalId: id,
      visibilityTimeoutSeconds: Number(props.VisibilityTimeout ?? 30),
      ...(props.MessageRetentionPeriod === undefined
        ? {}
        : { messageRetentionSeconds: Number(props.MessageRetentionPeriod) }),
      ...(redriveSpec ? { redrive: redriveSpec } : {}),
    };
  }

  return {
    synthesized,
    functions,
    eventSourceMappings,
    queues,
    table: readTable(stateful, ids.table),
    exportBucket: readBucket(stateful, ids.exportBucket),
    routes: readRoutes(service, kindOf),
    schedules: readSchedules(service, kindOf),
    eventBus: readEventBus(stateful, ids.eventBus),
  };
}

/** The bus and the rules on it (a rule on another bus, or disabled, is not the service's). */
function readEventBus(template: CfnTemplate, id: string): EventBusSpec {
  const bus = propertiesOf(template, id, "AWS::Events::EventBus");
  const rules: RuleSpec[] = [];
  for (const [ruleId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::Events::Rule") continue;
    const props = resource.Properties ?? {};
    if (JSON.stringify(props.EventBusName) !== JSON.stringify({ Ref: id })) continue;
    if (props.State === "DISABLED") continue;
    if (props.EventPattern === undefined) throw new Error(`rule ${ruleId}: only event-pattern rules are supported`);
    type Target = {
      Id: string;
      Arn: unknown;
      DeadLetterConfig?: { Arn: unknown };
      RetryPolicy?: Record<string, number>;
    };
    rules.push({
      logicalId: ruleId,
      pattern: props.EventPattern as Record<string, unknown>,
      targets: ((props.Targets as Target[] | undefined) ?? []).map((t) => ({
        id: t.Id,
        arn: t.Arn,
        ...(t.DeadLetterConfig ? { deadLetterArn: t.DeadLetterConfig.Arn } : {}),
        maximumRetryAttempts: Number(t.RetryPolicy?.MaximumRetryAttempts ?? 185),
      })),
    });
  }
  return { logicalId: id, name: String(bus.Name), rules };
}

const RATE_UNITS: Record<string, number> = {
  minute: 60,
  minutes: 60,
  hour: 3_600,
  hours: 3_600,
  day: 86_400,
  days: 86_400,
};

/**
 * The scheduled rules and schedules and the function each one targets: `rate(value unit)`, unit minute(s), hour(s) or
 * day(s), for both (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html,
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#rate-based).
 */
function readSchedules(template: CfnTemplate, kindOf: Map<string, FunctionKind>): ScheduleSpec[] {
  const schedules: ScheduleSpec[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const source =
      resource.Type === "AWS::Events::Rule"
        ? "events"
        : resource.Type === "AWS::Scheduler::Schedule"
          ? "scheduler"
          : "";
    if (source === "") continue;
    const props = resource.Properties ?? {};
    if (props.ScheduleExpression === undefined) continue;
    const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(String(props.ScheduleExpression));
    if (!rate) throw new Error(`${id}: cannot run schedule ${String(props.ScheduleExpression)} locally`);
    const targets =
      source === "events"
        ? ((props.Targets as { Arn: unknown }[] | undefined) ?? [])
        : [props.Target as { Arn: unknown }];
    for (const target of targets) {
      const fnId = getAttId(target.Arn, "Arn", `${id}.Target`);
      const functionKind = kindOf.get(fnId);
      if (!functionKind) throw new Error(`schedule ${id} targets unknown function ${fnId}`);
      schedules.push({
        logicalId: id,
        functionKind,
        rateSeconds: Number(rate[1]) * RATE_UNITS[rate[2]!]!,
        enabled: props.State === undefined || props.State === "ENABLED",
        source,
      });
    }
  }
  return schedules;
}

function readTable(template: CfnTemplate, id: string): TableSpec {
  const props = propertiesOf(template, id, "AWS::DynamoDB::Table");
  const types = new Map(
    (props.AttributeDefinitions as { AttributeName: string; AttributeType: KeySpec["type"] }[]).map((a) => [
      a.AttributeName,
      a.AttributeType,
    ]),
  );
  const keys = (schema: { AttributeName: string; KeyType: string }[]) => {
    const key = (keyType: string): KeySpec | undefined => {
      const name = schema.find((k) => k.KeyType === keyType)?.AttributeName;
      return name === undefined ? undefined : { name, type: types.get(name)! };
    };
    const sortKey = key("RANGE");
    return { partitionKey: key("HASH")!, ...(sortKey ? { sortKey } : {}) };
  };
  const ttl = props.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
  type Gsi = { IndexName: string; KeySchema: []; Projection: { ProjectionType: string } };
  return {
    logicalId: id,
    ...keys(props.KeySchema as []),
    globalSecondaryIndexes: ((props.GlobalSecondaryIndexes as Gsi[] | undefined) ?? []).map((g) => ({
      indexName: g.IndexName,
      ...keys(g.KeySchema),
      projection: g.Projection.ProjectionType,
    })),
    ...(ttl?.Enabled ? { timeToLiveAttribute: ttl.AttributeName } : {}),
    billingMode: String(props.BillingMode ?? "PROVISIONED"),
    ...(props.StreamSpecification
      ? { streamViewType: String((props.StreamSpecification as { StreamViewType: string }).StreamViewType) }
      : {}),
  };
}

function readBucket(template: CfnTemplate, id: string): BucketSpec {
  const props = propertiesOf(template, id, "AWS::S3::Bucket");
  if (typeof props.BucketName !== "string") throw new Error(`bucket ${id}: expected a fixed BucketName`);
  type Rule = {
    Status?: string;
    ExpirationInDays?: number;
    AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
  };
  const rules = ((props.LifecycleConfiguration as { Rules?: Rule[] } | undefined)?.Rules ?? []).filter(
    (r) => r.Status === "Enabled",
  );
  const expirationDays = rules.find((r) => r.ExpirationInDays !== undefined)?.ExpirationInDays;
  const abortDays = rules.find((r) => r.AbortIncompleteMultipartUpload)?.AbortIncompleteMultipartUpload
    ?.DaysAfterInitiation;
  const policy = Object.values(template.Resources).find(
    (r) => r.Type === "AWS::S3::BucketPolicy" && JSON.stringify(r.Properties?.Bucket) === JSON.stringify({ Ref: id }),
  );
  const encryption = (
    props.BucketEncryption as
      | { ServerSideEncryptionConfiguration?: { ServerSideEncryptionByDefault?: { SSEAlgorithm?: string } }[] }
      | undefined
  )?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault?.SSEAlgorithm;
  return {
    logicalId: id,
    name: props.BucketName,
    ...(expirationDays === undefined ? {} : { expirationDays }),
    ...(abortDays === undefined ? {} : { abortIncompleteUploadDays: abortDays }),
    tlsOnly: JSON.stringify(policy?.Properties?.PolicyDocument ?? {}).includes('"aws:SecureTransport":"false"'),
    ...(encryption === undefined ? {} : { encryption }),
  };
}

function readRoutes(template: CfnTemplate, kindOf: Map<string, FunctionKind>): RouteSpec[] {
  const routes: RouteSpec[] = [];
  const stage = Object.values(template.Resources).find((r) => r.Type === "AWS::ApiGatewayV2::Stage")?.Properties ?? {};
  const throttleOf = (settings: unknown) => {
    const { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit } = (settings ?? {}) as Record<
      string,
      unknown
    >;
    return typeof rateLimit === "number" && typeof burstLimit === "number" ? { rateLimit, burstLimit } : undefined;
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::ApiGatewayV2::Route") continue;
    const props = resource.Properties ?? {};
    const [method, path] = String(props.RouteKey).split(" ") as [string, string];
    // Target is `integrations/<Ref integration>`; the integration's URI is the function's ARN.
    const target = JSON.stringify(props.Target);
    const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1];
    if (!integrationId) throw new Error(`route ${id}: cannot read its integration`);
    const integration = propertiesOf(template, integrationId, "AWS::ApiGatewayV2::Integration");
    const fnId = getAttId(integration.IntegrationUri, "Arn", `${integrationId}.IntegrationUri`);
    const functionKind = kindOf.get(fnId);
    if (!functionKind) throw new Error(`route ${id} targets unknown function ${fnId}`);
    const throttle =
      throttleOf((stage.RouteSettings as Record<string, unknown> | undefined)?.[String(props.RouteKey)]) ??
      throttleOf(stage.DefaultRouteSettings);
    routes.push({
      method,
      path,
      authorizationType: String(props.AuthorizationType ?? "NONE"),
      functionKind,
      ...(throttle ? { throttle } : {}),
    });
  }
  return routes;
}

/** Statements of the inline policies naming the role, then of the managed policies the role or a policy attaches. */
function roleStatements(template: CfnTemplate, roleId: string): TemplateStatement[] {
  const statements: TemplateStatement[] = [];
  const names = (list: unknown) => ((list as unknown[] | undefined) ?? []).map((r) => JSON.stringify(r));
  const roleRef = JSON.stringify({ Ref: roleId });
  for (const resource of Object.values(template.Resources) as Resource[]) {
    const props = resource.Properties ?? {};
    const attached =
      (resource.Type === "AWS::IAM::Policy" || resource.Type === "AWS::IAM::ManagedPolicy") &&
      names(props.Roles).includes(roleRef);
    if (attached) statements.push(...statementsOf(props.PolicyDocument));
  }
  const role = propertiesOf(template, roleId, "AWS::IAM::Role");
  for (const policy of (role.Policies as { PolicyDocument: unknown }[] | undefined) ?? [])
    statements.push(...statementsOf(policy.PolicyDocument));
  if (((role.ManagedPolicyArns as unknown[] | undefined) ?? []).length > 0) {
    // An AWS managed policy's document is not in the template: refuse rather than pretend to know it.
    throw new Error(`role ${roleId} attaches managed policies by ARN; the local stack cannot read their documents`);
  }
  return statements;
}

function statementsOf(document: unknown): TemplateStatement[] {
  const statement = (document as { Statement?: TemplateStatement | TemplateStatement[] } | undefined)?.Statement;
  return statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
}

function propertiesOf(template: CfnTemplate, id: string, type: string): Record<string, unknown> {
  const resource = template.Resources[id];
  if (!resource || resource.Type !== type) throw new Error(`template has no ${type} ${id}`);
  return resource.Properties ?? {};
}

function refId(value: unknown, where: string): string {
  const id = (value as { Ref?: unknown } | undefined)?.Ref;
  if (typeof id !== "string") throw new Error(`${where}: expected a Ref, got ${JSON.stringify(value)}`);
  return id;
}

function getAttId(value: unknown, attribute: string, where: string): string {
  const getAtt = (value as { "Fn::GetAtt"?: unknown } | undefined)?.["Fn::GetAtt"];
  if (!Array.isArray(getAtt) || getAtt[1] !== attribute)
    throw new Error(`${where}: expected Fn::GetAtt ${attribute}, got ${JSON.stringify(value)}`);
  return String(getAtt[0]);
}

/** Synthesizes (cached per process) and reads the model: what the local stack starts from. */
export function loadServiceModel(context: Record<string, unknown> = {}): ServiceModel {
  return readServiceModel(synthesizeApp(context));
}
