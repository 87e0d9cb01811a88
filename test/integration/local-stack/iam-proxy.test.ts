import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { AbortMultipartUploadCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulators, startEmulators } from "#local/stack/emulators.js";
import { type IamProxy, type LocalIdentity, startIamProxy } from "#local/stack/iam/iam-proxy.js";
import type { LocalArns } from "#local/stack/iam/requests.js";
import { localResolver, resolveFunction } from "#local/stack/template/local-resources.js";
import { loadServiceModel } from "#local/stack/template/read-template.js";
import { S3DownloadLinks } from "#shared/adapters/s3/s3-download-links.js";
import { S3ExportObjects } from "#shared/adapters/s3/s3-export-objects.js";
import { createSqsClient } from "#shared/adapters/sqs/sqs-client.js";

// Real SDK clients → IAM proxy → the real stand-ins, with the template's real role policies.
let emulators: Emulators;
let bucket: string;
const proxies: IamProxy[] = [];
const endpoints: Record<string, string> = {};
const region = "us-east-1";
const secretArn = (id: string) =>
  id.startsWith("arn:") ? id : `arn:aws:secretsmanager:${region}:000000000000:secret:${id}`;
const credentials = (accessKeyId: string) => ({ accessKeyId, secretAccessKey: "local" });

beforeAll(async () => {
  const model = loadServiceModel();
  bucket = model.exportBucket.name;
  emulators = await startEmulators({ secrets: { "wxcoupon/merchant": "{}" }, exportBucket: { name: bucket } });
  const ctx = localResolver(model, {
    tableName: emulators.env.TABLE_NAME,
    queues: {
      send: emulators.queues.send,
      sendDlq: emulators.queues.sendDlq,
      events: emulators.queues.events,
      eventsDlq: emulators.queues.eventsDlq,
      exports: emulators.queues.exports,
      exportsDlq: emulators.queues.exportsDlq,
      streamFailureDlq: emulators.queues.streamFailureDlq,
      forward: emulators.queues.forward,
      forwardDlq: emulators.queues.forwardDlq,
    },
    signingSecretArn: secretArn("wxcoupon/event-signing"),
    secretArn: secretArn(emulators.env.SECRET_ID),
    exportBucketName: model.exportBucket.name,
    eventBus: { name: "wxcoupon-local", arn: "arn:aws:events:us-east-1:000000000000:event-bus/wxcoupon-local" },
  });
  const notify = resolveFunction(model, "notify", ctx);
  const identity = (kind: "api" | "export"): LocalIdentity => {
    const fn = resolveFunction(model, kind, ctx);
    return { principal: { account: "000000000000", roleName: fn.roleName, functionName: kind }, ...fn };
  };
  const identities = new Map<string, LocalIdentity>([
    ["AKIDAPI", identity("api")],
    ["AKIDEXPORT", identity("export")],
    [
      "AKIDNOTIFY",
      { principal: { account: "000000000000", roleName: notify.roleName, functionName: "notify" }, ...notify },
    ],
    [
      "AKIDNOSECRET",
      {
        principal: { account: "000000000000", roleName: notify.roleName, functionName: "notify" },
        statements: notify.statements.filter((s) => ![s.Action].flat().includes("secretsmanager:GetSecretValue")),
      },
    ],
  ]);
  const arns: LocalArns = { region, account: "000000000000", secretArn };
  for (const [service, target] of [
    ["dynamodb", emulators.endpoints.dynamodb],
    ["sqs", emulators.endpoints.sqs],
    ["secretsmanager", emulators.endpoints.secretsManager],
    ["s3", emulators.endpoints.s3],
  ] as const) {
    const proxy = await startIamProxy({ service, target, arns, identities });
    proxies.push(proxy);
    endpoints[service] = proxy.endpoint;
  }
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  await emulators?.stop();
});

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error("expected the call to fail");
};

describe("IAM enforced at the stand-ins' front door", () => {
  it("lets allowed DynamoDB calls through and answers a denied one as DynamoDB does", async () => {
    const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials: credentials("AKIDNOTIFY") });
    const Key = { pk: { S: "IAM#probe" } };
    await ddb.send(new PutItemCommand({ TableName: emulators.env.TABLE_NAME, Item: Key }));
    const error = await failure(ddb.send(new DeleteItemCommand({ TableName: emulators.env.TABLE_NAME, Key })));
    expect(error.name).toBe("AccessDeniedException");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(
      /^User: arn:aws:sts::000000000000:assumed-role\/[^/]+\/notify is not authorized to perform: dynamodb:DeleteItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table\/wxcoupon because no identity-based policy allows the dynamodb:DeleteItem action$/,
    );
    ddb.destroy();
  });

  it("answers a denied SQS call with SQS's AccessDenied", async () => {
    // The api function may send to the send queue, not to the coupon-events queue (only the bus rule does).
    const sqs = createSqsClient({ endpoint: endpoints.sqs, region, credentials: credentials("AKIDAPI") });
    await sqs.send(new SendMessageCommand({ QueueUrl: emulators.queues.send.url, MessageBody: "{}" }));
    const error = await failure(
      sqs.send(new SendMessageCommand({ QueueUrl: emulators.queues.events.url, MessageBody: "{}" })),
    );
    expect(error.name).toBe("AccessDenied");
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe("Access to the resource https://sqs.us-east-1.amazonaws.com/ is denied.");
    sqs.destroy();
  });

  it("denies GetSecretValue to a role whose secret statement was removed, and allows it with the statement", async () => {
    const get = (key: string) => {
      const sm = new SecretsManagerClient({
        endpoint: endpoints.secretsmanager,
        region,
        credentials: credentials(key),
      });
      return sm.send(new GetSecretValueCommand({ SecretId: emulators.env.SECRET_ID })).finally(() => sm.destroy());
    };
    expect((await get("AKIDNOTIFY")).SecretString).toBe("{}");
    const error = await failure(get("AKIDNOSECRET"));
    expect(error.name).toBe("AccessDeniedException");
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toContain("secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:");
  });

  it("holds the export bucket to the roles: the export function writes exports/ by multipart, the api signs reads", async () => {
    const s3 = (key: string) => new S3Client({ endpoint: endpoints.s3, region, credentials: credentials(key) });
    const writer = s3("AKIDEXPORT");
    const objects = new S3ExportObjects({ client: writer, bucket });
    const key = "exports/c1/exp_aaaaaaaaaaaaaaaaaaaaaaaa.csv";
    const uploadId = await objects.createUpload(key, "x.csv");
    const etag = await objects.uploadPart(key, uploadId, 1, Buffer.from("a,b\r\n"));
    await objects.completeUpload(key, uploadId, [{ partNumber: 1, etag }]);
    // Completed again (an export retried after its completion succeeded): S3 answers NoSuchUpload, the object at the
    // key (HeadObject, the role's GetObject) says it was done; an upload that is gone with no object stays an error.
    await objects.completeUpload(key, uploadId, [{ partNumber: 1, etag }]);
    const missingKey = "exports/c1/exp_bbbbbbbbbbbbbbbbbbbbbbbb.csv";
    const gone = await objects.createUpload(missingKey, "y.csv");
    const goneEtag = await objects.uploadPart(missingKey, gone, 1, Buffer.from("x"));
    // Aborted as the bucket's lifecycle rule would (a key that is no function's: the stack's own, unchecked).
    const lifecycle = s3("local");
    await lifecycle.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: missingKey, UploadId: gone }));
    lifecycle.destroy();
    const aborted = await failure(objects.completeUpload(missingKey, gone, [{ partNumber: 1, etag: goneEtag }]));
    expect(aborted.name).toBe("NoSuchUpload");
    const outside = await failure(
      writer.send(new PutObjectCommand({ Bucket: bucket, Key: "elsewhere.csv", Body: "x" })),
    );
    expect(outside.name).toBe("AccessDenied");
    expect(outside.$metadata.httpStatusCode).toBe(403);
    expect(outside.message).toContain(`s3:PutObject on resource: "arn:aws:s3:::${bucket}/elsewhere.csv"`);
    // A presigned GET is authorized as its signer: the api's role may read, the notify function's may not.
    // The api's links, as its composition root builds them (path-style on the stand-in's IP endpoint).
    const links = new S3DownloadLinks({ bucket, region, credentials: credentials("AKIDAPI"), endpoint: endpoints.s3! });
    const link = await links.downloadUrl(key, 60, "x.csv");
    const download = await fetch(link);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("a,b\r\n");
    const stranger = s3("AKIDNOTIFY");
    const notAllowed = await fetch(await getSignedUrl(stranger, new GetObjectCommand({ Bucket: bucket, Key: key })));
    expect(notAllowed.status).toBe(403);
    expect(await notAllowed.text()).toContain("<Code>AccessDenied</Code>");
    writer.destroy();
    stranger.destroy();
  });

  it("passes calls signed with a key that is no function's (the stack's own setup) unchecked", async () => {
    const ddb = new DynamoDBClient({ endpoint: endpoints.dynamodb, region, credentials: credentials("local") });
    await ddb.send(new DeleteItemCommand({ TableName: emulators.env.TABLE_NAME, Key: { pk: { S: "IAM#probe" } } }));
    ddb.destroy();
  });
});
