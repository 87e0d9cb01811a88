import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table } from "aws-cdk-lib/aws-dynamodb";
import { EventBus, Rule } from "aws-cdk-lib/aws-events";
import { SqsQueue } from "aws-cdk-lib/aws-events-targets";
import { Key } from "aws-cdk-lib/aws-kms";
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from "aws-cdk-lib/aws-s3";
import { CfnSecret, type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { TABLE_SPEC } from "#shared/adapters/dynamodb/table-definition.js";
import { TABLE_STREAM_VIEW_TYPE } from "#shared/adapters/dynamodb/table-stream.js";
import { SERVICE_EVENTS_PATTERN } from "#shared/adapters/eventbridge/event-rules.js";
import type { WxConfig } from "../config.js";
import { type Acknowledgement, acknowledgement } from "../nag.js";
import {
  DLQ_RETENTION,
  EVENTS_MAX_RECEIVE_COUNT,
  EVENTS_QUEUE_RETENTION,
  EVENTS_RULE_MAX_EVENT_AGE,
  EVENTS_RULE_RETRY_ATTEMPTS,
  EXPORT_MAX_RECEIVE_COUNT,
  EXPORT_OBJECT_DAYS,
  EXPORT_QUEUE_RETENTION,
  EXPORT_QUEUE_VISIBILITY,
  exportBucketName,
  FORWARD_MAX_RECEIVE_COUNT,
  FORWARD_QUEUE_VISIBILITY,
  SEND_MAX_RECEIVE_COUNT,
  SEND_QUEUE_RETENTION,
  SEND_QUEUE_VISIBILITY,
} from "../settings.js";

/**
 * The merchant secret's JSON shape (parsed by shared/adapters/secrets/merchant-secret-json.ts), named in the created
 * secret's description. The stack creates the secret without a value and the operator puts it
 * (`aws secretsmanager put-secret-value`, README "Deploying to AWS"): CloudFormation manages no value, so no stack
 * update can ever write over the merchant's private key and APIv3 key.
 */
export const MERCHANT_SECRET_FIELDS = [
  "mchid",
  "merchant_serial_no",
  "merchant_private_key",
  "apiv3_key",
  "wechatpay_public_key_id",
  "wechatpay_public_key",
  "appid",
] as const;

const ATTRIBUTE_TYPES = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY } as const;
const PROJECTIONS = { ALL: ProjectionType.ALL, KEYS_ONLY: ProjectionType.KEYS_ONLY } as const;

export interface StatefulStackProps extends StackProps {
  config: WxConfig;
}

/**
 * Everything that holds data: the single table, the send and coupon-events queues with their DLQs, the merchant
 * secret. Separate from the service stack so it can be termination-protected and outlive redeployments of code.
 */
export class StatefulStack extends Stack {
  readonly table: Table;
  readonly sendQueue: Queue;
  readonly sendDlq: Queue;
  readonly sendQueueVisibility: Duration = SEND_QUEUE_VISIBILITY;
  readonly eventsQueue: Queue;
  readonly eventsDlq: Queue;
  /** The service's event bus (docs/events.md): fed from the table's stream by the events-publisher function. */
  readonly eventBus: EventBus;
  /** The stream mapping's on-failure destination: batches that could not be published before leaving the stream. */
  readonly streamFailureDlq: Queue;
  /** The event forwarder's queue (fed by a bus rule) and its dead letters (docs/events.md#signed-http-forwarding). */
  readonly forwardQueue: Queue;
  readonly forwardDlq: Queue;
  /** The forwarder's HMAC signing secret, JSON {"signing_secret": "…"}, put by the operator like the merchant's. */
  readonly signingSecret: ISecret;
  readonly secret: ISecret;
  /** CSV exports of campaigns (written by the export function, downloaded through presigned URLs). */
  readonly exportBucket: Bucket;
  readonly exportQueue: Queue;
  readonly exportDlq: Queue;
  readonly acknowledgements: Acknowledgement[] = [];

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    const { config } = props;
    super(scope, id, { ...props, terminationProtection: config.isProd });
    const removalPolicy = config.isProd ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // Derived from shared/adapters/dynamodb/table-definition.ts, the same spec the local stack creates its table from.
    // `Table` (AWS::DynamoDB::Table) rather than TableV2: cdk-nag's DDB3 (PITR) rule only inspects CfnTable.
    this.table = new Table(this, "Table", {
      partitionKey: { name: TABLE_SPEC.partitionKey.name, type: ATTRIBUTE_TYPES[TABLE_SPEC.partitionKey.type] },
      billingMode: TABLE_SPEC.billingMode === "PAY_PER_REQUEST" ? BillingMode.PAY_PER_REQUEST : BillingMode.PROVISIONED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: TABLE_SPEC.pointInTimeRecovery },
      timeToLiveAttribute: TABLE_SPEC.timeToLiveAttribute,
      // The outbox (docs/events.md#outbox): every change, with both images, read by the events publisher.
      stream: StreamViewType[TABLE_STREAM_VIEW_TYPE],
      deletionProtection: config.isProd,
      removalPolicy,
    });
    for (const gsi of TABLE_SPEC.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: gsi.indexName,
        partitionKey: { name: gsi.partitionKey.name, type: ATTRIBUTE_TYPES[gsi.partitionKey.type] },
        sortKey: { name: gsi.sortKey.name, type: ATTRIBUTE_TYPES[gsi.sortKey.type] },
        projectionType: PROJECTIONS[gsi.projection],
      });
    }

    // SSE-SQS (free, no key policy to manage) and TLS-only access on every queue.
    const queueDefaults = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, removalPolicy } as const;

    this.sendDlq = new Queue(this, "SendDlq", { ...queueDefaults, retentionPeriod: DLQ_RETENTION });
    this.sendQueue = new Queue(this, "SendQueue", {
      ...queueDefaults,
      visibilityTimeout: SEND_QUEUE_VISIBILITY,
      // Shorter than the DLQ's 14 days: SQS keeps the original enqueue time when it moves a message, so the DLQ
      // must outlive the source for a dead-lettered message to stay long enough to be redriven.
      retentionPeriod: SEND_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.sendDlq, maxReceiveCount: SEND_MAX_RECEIVE_COUNT },
    });

    this.eventsDlq = new Queue(this, "CouponEventsDlq", { ...queueDefaults, retentionPeriod: DLQ_RETENTION });
    this.eventsQueue = new Queue(this, "CouponEventsQueue", {
      ...queueDefaults,
      retentionPeriod: EVENTS_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.eventsDlq, maxReceiveCount: EVENTS_MAX_RECEIVE_COUNT },
    });

    this.exportDlq = new Queue(this, "ExportDlq", { ...queueDefaults, retentionPeriod: DLQ_RETENTION });
    this.exportQueue = new Queue(this, "ExportQueue", {
      ...queueDefaults,
      visibilityTimeout: EXPORT_QUEUE_VISIBILITY,
      retentionPeriod: EXPORT_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.exportDlq, maxReceiveCount: EXPORT_MAX_RECEIVE_COUNT },
    });

    // Exports hold openids and coupon ids: private, encrypted at rest (SSE-S3, so a presigned GET needs no KMS grant
    // for the signer: docs/aws-notes.md#s3-presigned-urls), TLS only, deleted after EXPORT_OBJECT_DAYS.
    this.exportBucket = new Bucket(this, "ExportBucket", {
      bucketName: exportBucketName(config),
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [
        {
          id: "expire-exports",
          expiration: Duration.days(EXPORT_OBJECT_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // Outside prod the stack deletes it, which CloudFormation does only once it is empty (within the lifecycle).
      removalPolicy,
    });
    this.acknowledgements.push(
      acknowledgement(
        this.exportBucket,
        "AwsSolutions-S1",
        "Server access logs would need a second bucket, itself unlogged (a log bucket cannot log to itself), for " +
          "objects that live 7 days: every object is written by the export function's role and read through a URL " +
          "the api function signed after an authorized GET, both of which are in the API's access log and the " +
          "functions' logs; CloudTrail S3 data events can be enabled on the account if object-level audit is needed.",
      ),
    );

    this.streamFailureDlq = new Queue(this, "EventsStreamDlq", { ...queueDefaults, retentionPeriod: DLQ_RETENTION });
    this.acknowledgements.push(
      acknowledgement(
        this.streamFailureDlq,
        "AwsSolutions-SQS3",
        "This queue is itself a dead-letter destination: the events publisher's stream mapping reports batches it " +
          "could not publish here (OnFailure destination), which is not a queue redrive policy, so cdk-nag cannot see it.",
      ),
    );

    // The bus, and its queue subscription: every service event lands on the coupon-events queue (one target among
    // any a consumer adds; docs/events.md). In this stack because the queue's policy must name the rule: a rule in the
    // service stack would make the two stacks reference each other.
    this.eventBus = new EventBus(this, "EventBus", { eventBusName: `wxcoupon-${config.envName}` });
    new Rule(this, "CouponEventsQueueRule", {
      eventBus: this.eventBus,
      description: "wxcoupon: every service event to the coupon-events queue",
      eventPattern: { source: [...SERVICE_EVENTS_PATTERN.source] },
      targets: [
        new SqsQueue(this.eventsQueue, {
          deadLetterQueue: this.eventsDlq,
          retryAttempts: EVENTS_RULE_RETRY_ATTEMPTS,
          maxEventAge: EVENTS_RULE_MAX_EVENT_AGE,
        }),
      ],
    });

    // Signed HTTP forwarding: a second rule on the bus feeds the forwarder's own queue (retries with back-off go back
    // on it; its DLQ holds the dead-letter records), so a slow consumer never holds up the coupon-events queue.
    this.forwardDlq = new Queue(this, "EventForwardDlq", { ...queueDefaults, retentionPeriod: DLQ_RETENTION });
    this.forwardQueue = new Queue(this, "EventForwardQueue", {
      ...queueDefaults,
      visibilityTimeout: FORWARD_QUEUE_VISIBILITY,
      retentionPeriod: EVENTS_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.forwardDlq, maxReceiveCount: FORWARD_MAX_RECEIVE_COUNT },
    });
    new Rule(this, "EventForwardRule", {
      eventBus: this.eventBus,
      description: "wxcoupon: every service event to the HTTP event forwarder",
      eventPattern: { source: [...SERVICE_EVENTS_PATTERN.source] },
      targets: [
        new SqsQueue(this.forwardQueue, {
          deadLetterQueue: this.forwardDlq,
          retryAttempts: EVENTS_RULE_RETRY_ATTEMPTS,
          maxEventAge: EVENTS_RULE_MAX_EVENT_AGE,
        }),
      ],
    });
    const signing = new CfnSecret(this, "EventSigningSecret", {
      name: `wxcoupon/${config.envName}/event-signing`,
      description:
        'wxcoupon event forwarding: JSON {"signing_secret": "<random, at least 16 characters>"}; fill with put-secret-value',
    });
    signing.applyRemovalPolicy(removalPolicy);
    this.signingSecret = Secret.fromSecretCompleteArn(this, "EventSigningSecretRef", signing.ref);
    this.acknowledgements.push(
      acknowledgement(
        signing,
        "AwsSolutions-SMG4",
        "The event signing secret is shared with the consumers outside AWS that verify the signatures, so it changes " +
          "only together with them: rotating it is the operator's put-secret-value, announced to the consumers " +
          "(docs/events.md), not an automatic Secrets Manager rotation.",
      ),
    );

    if (config.secret.kind === "import") {
      const { arn, kmsKeyArn } = config.secret;
      this.secret = Secret.fromSecretAttributes(this, "MerchantSecret", {
        secretCompleteArn: arn,
        ...(kmsKeyArn ? { encryptionKey: Key.fromKeyArn(this, "MerchantSecretKey", kmsKeyArn) } : {}),
      });
    } else {
      // L1 on purpose: the L2 Secret always gives CloudFormation a value (GenerateSecretString by default, or
      // SecretString), and CloudFormation writes it again whenever that property changes, over whatever the operator
      // put. With neither property the secret is created empty and its value is never CloudFormation's
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html).
      // Scope "MerchantSecret", child "Resource": the path, hence the logical id, of the L2 it replaces, so an existing
      // stack keeps its secret (another logical id would replace it: a new, empty secret, and the old one deleted).
      const secret = new CfnSecret(new Construct(this, "MerchantSecret"), "Resource", {
        name: `wxcoupon/${config.envName}/merchant`,
        description: `wxcoupon merchant ${config.mchid}: JSON {${MERCHANT_SECRET_FIELDS.join(",")}}; fill with put-secret-value`,
      });
      secret.applyRemovalPolicy(removalPolicy);
      // Ref of AWS::SecretsManager::Secret is the secret's complete ARN.
      this.secret = Secret.fromSecretCompleteArn(secret.node.scope!, "Imported", secret.ref);
      this.acknowledgements.push(
        acknowledgement(
          secret,
          "AwsSolutions-SMG4",
          "The merchant private key, serial and APIv3 key are issued and rotated by hand in the WeChat Pay merchant " +
            "platform (no API exists to rotate them), so Secrets Manager rotation cannot apply; the README runbook " +
            "'Rotating WeChat Pay keys' covers the manual put-secret-value and the overlap window.",
        ),
      );
    }

    new CfnOutput(this, "TableName", { value: this.table.tableName });
    new CfnOutput(this, "SendQueueUrl", { value: this.sendQueue.queueUrl });
    new CfnOutput(this, "SendDlqUrl", { value: this.sendDlq.queueUrl });
    new CfnOutput(this, "CouponEventsQueueUrl", { value: this.eventsQueue.queueUrl });
    new CfnOutput(this, "EventBusName", { value: this.eventBus.eventBusName });
    new CfnOutput(this, "EventBusArn", { value: this.eventBus.eventBusArn });
    new CfnOutput(this, "MerchantSecretArn", { value: this.secret.secretArn });
    new CfnOutput(this, "ExportBucketName", { value: this.exportBucket.bucketName });
  }
}
