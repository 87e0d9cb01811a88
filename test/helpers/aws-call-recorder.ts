import { AsyncLocalStorage } from "node:async_hooks";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** One AWS call made inside `run(owner, …)`: the IAM action it needs and the resource parameter it named. */
export interface AwsCall {
  owner: string;
  /** IAM action, e.g. `sqs:SendMessage` for a SendMessageBatch. */
  action: string;
  /** `TableName`, `QueueUrl` or `SecretId` as sent. */
  resource: string;
  /** `IndexName` of a Query. */
  index?: string;
}

/**
 * IAM action of an SDK operation. SQS batch calls are authorized by their single action
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html);
 * the document client's commands are the DynamoDB item operations they wrap.
 */
const SQS_BATCH: Record<string, string> = {
  SendMessageBatch: "SendMessage",
  DeleteMessageBatch: "DeleteMessage",
  ChangeMessageVisibilityBatch: "ChangeMessageVisibility",
};
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: "GetItem",
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  BatchGet: "BatchGetItem",
  BatchWrite: "BatchWriteItem",
  TransactGet: "TransactGetItems",
  TransactWrite: "TransactWriteItems",
};

type Sender = (this: unknown, command: unknown, ...rest: unknown[]) => unknown;
interface Patchable {
  prototype: { send: Sender };
}

/**
 * Records every AWS SDK call (SQS, DynamoDB low-level and document client, Secrets Manager) made inside
 * `run(owner, work)`, attributed to `owner` through AsyncLocalStorage, by wrapping the clients' `send`. Calls outside
 * `run` (test setup, the local stack's own plumbing) are recorded only if `outside` names an owner for them (then
 * every call in the process is). A BatchGet or BatchWrite of one table is recorded on it; other multi-resource
 * operations (TransactWrite…) throw: the service uses none, and recording them would need their resource lists.
 */
export function recordAwsCalls(options: { outside?: string } = {}) {
  const owner = new AsyncLocalStorage<string>();
  const calls: AwsCall[] = [];
  const restores: Array<() => void> = [];

  const patch = (client: Patchable, service: string, actionOf: (operation: string) => string) => {
    const proto = client.prototype as { send: Sender };
    const own = Object.hasOwn(proto, "send");
    const original = proto.send;
    proto.send = function (this: unknown, command: unknown, ...rest: unknown[]) {
      const who = owner.getStore() ?? options.outside;
      if (who !== undefined) {
        const operation = (command as object).constructor.name.replace(/Command$/, "");
        const input = (command as { input: Record<string, unknown> }).input;
        // BatchGetItem and BatchWriteItem name their tables in RequestItems: recorded when they name exactly one (as the
        // service's do).
        const batchTables = typeof input.RequestItems === "object" ? Object.keys(input.RequestItems as object) : [];
        const resource =
          input.TableName ??
          input.QueueUrl ??
          input.SecretId ??
          (batchTables.length === 1 ? batchTables[0] : undefined);
        if (typeof resource !== "string") {
          throw new Error(`recordAwsCalls: ${service} ${operation} names no single resource`);
        }
        calls.push({
          owner: who,
          action: `${service}:${actionOf(operation)}`,
          resource,
          ...(typeof input.IndexName === "string" ? { index: input.IndexName } : {}),
        });
      }
      return original.call(this, command, ...rest);
    };
    restores.push(() => {
      if (own) proto.send = original;
      else delete (proto as Partial<typeof proto>).send;
    });
  };

  patch(SQSClient as unknown as Patchable, "sqs", (op) => SQS_BATCH[op] ?? op);
  patch(DynamoDBClient as unknown as Patchable, "dynamodb", (op) => op);
  patch(DynamoDBDocumentClient as unknown as Patchable, "dynamodb", (op) => DOCUMENT_COMMANDS[op] ?? op);
  patch(SecretsManagerClient as unknown as Patchable, "secretsmanager", (op) => op);

  return {
    calls,
    /** Runs `work` with every AWS call inside it (and in what it starts) attributed to `who`. */
    run<T>(who: string, work: () => T): T {
      return owner.run(who, work);
    },
    restore() {
      for (const restore of restores.splice(0).reverse()) restore();
    },
  };
}
