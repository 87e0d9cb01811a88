import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { PlatformCertificate, PlatformCertificateCache } from "../../domain/ports.js";
import type { DynamoDbAdapterOptions } from "./document-client.js";
import { type Item, num, str } from "./item.js";
import { GSI1, KEY, TTL_ATTRIBUTE } from "./table-definition.js";

/** `PlatformCertificateCache` on the single table: items `CERT#{serial}`, listed through gsi1 `CERTS`. */
export class DynamoDbPlatformCertificateCache implements PlatformCertificateCache {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoDbAdapterOptions) {
    this.#doc = options.doc;
    this.#table = options.tableName;
  }

  async put(cert: PlatformCertificate): Promise<void> {
    const expireMs = Date.parse(cert.expireTime);
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        // Unconditional upsert: certificates are public, and the newest fetch is always at least as good.
        Item: {
          pk: KEY.certificate(cert.serial),
          type: "CERT",
          serial: cert.serial,
          pem: cert.pem,
          effective_time: cert.effectiveTime,
          expire_time: cert.expireTime,
          fetched_at: cert.fetchedAt,
          gsi1pk: KEY.certificates(),
          gsi1sk: cert.serial,
          // TTL a day after expiry: readers filter on expire_time anyway, TTL only keeps the table tidy.
          ...(Number.isFinite(expireMs) ? { [TTL_ATTRIBUTE]: Math.floor(expireMs / 1000) + 86_400 } : {}),
        },
      }),
    );
  }

  async list(): Promise<PlatformCertificate[]> {
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: GSI1,
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": KEY.certificates() },
      }),
    );
    return Items.map(fromItem);
  }
}

function fromItem(item: Item): PlatformCertificate {
  return {
    serial: str(item, "serial"),
    pem: str(item, "pem"),
    effectiveTime: str(item, "effective_time"),
    expireTime: str(item, "expire_time"),
    fetchedAt: num(item, "fetched_at"),
  };
}
