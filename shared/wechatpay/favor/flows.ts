import { createHash } from "node:crypto";
import { FlowFileIntegrityError, WechatPayError } from "../errors.js";
import { FAVOR_PATH, type FavorContext, segment } from "./context.js";
import { type FlowTable, parseFlowCsv } from "./flow-csv.js";
import type { FlowLink } from "./types.js";
import { validatePathParam } from "./validation.js";

/** A downloaded flow file whose SHA-1 matched the announced hash_value. */
export interface FlowFile {
  bytes: Buffer;
  /** Lower-case hex SHA-1 of `bytes`. */
  sha1: string;
  /** The file as text (UTF-8). */
  text(): string;
  /** The records of the CSV. */
  parse(): FlowTable;
}

/**
 * Use-flow and refund-flow downloads (E13, E14): the link call, then a signed GET of the file (which WeChat does
 * not sign back) and our own SHA-1 check against `hash_value`, which no official SDK does for these files.
 *
 * @example
 * const file = await client.flows.downloadUseFlow(stockId);
 * for (const row of file.parse().rows) console.log(row["优惠id"]);
 */
export class FlowsApi {
  constructor(private readonly context: FavorContext) {}

  /** E13: a 30-second link to the use-flow file. */
  useFlowLink(stockId: string): Promise<FlowLink> {
    return this.link(stockId, "use-flow");
  }

  /** E14: a 30-second link to the refund-flow file. */
  refundFlowLink(stockId: string): Promise<FlowLink> {
    return this.link(stockId, "refund-flow");
  }

  async downloadUseFlow(stockId: string): Promise<FlowFile> {
    return this.download(await this.useFlowLink(stockId));
  }

  async downloadRefundFlow(stockId: string): Promise<FlowFile> {
    return this.download(await this.refundFlowLink(stockId));
  }

  /** Downloads a link and checks its SHA-1; a mismatch throws FlowFileIntegrityError. */
  async download(link: FlowLink): Promise<FlowFile> {
    if (link.hash_type.toUpperCase() !== "SHA1") {
      throw new WechatPayError("UNSUPPORTED_HASH_TYPE", `flow file hash_type ${link.hash_type} is not SHA1`);
    }
    const { bytes } = await this.context.http.download(link.url);
    const sha1 = createHash("sha1").update(bytes).digest("hex");
    if (sha1 !== link.hash_value.toLowerCase()) throw new FlowFileIntegrityError(link.hash_value, sha1);
    return { bytes, sha1, text: () => bytes.toString("utf8"), parse: () => parseFlowCsv(bytes.toString("utf8")) };
  }

  private async link(stockId: string, kind: "use-flow" | "refund-flow"): Promise<FlowLink> {
    validatePathParam("stock_id", stockId);
    const { data } = await this.context.http.request<FlowLink>({
      method: "GET",
      path: `${FAVOR_PATH}/stocks/${segment(stockId)}/${kind}`,
    });
    if (typeof data?.url !== "string" || typeof data.hash_value !== "string") {
      throw new WechatPayError("MALFORMED_RESPONSE", `${kind}: the answer has no url or hash_value`);
    }
    return { url: data.url, hash_value: data.hash_value, hash_type: data.hash_type ?? "SHA1" };
  }
}
