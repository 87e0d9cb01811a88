import { createHash } from "node:crypto";
import { FAVOR_PATH, type FavorContext } from "./context.js";
import type { ImageUploadRequest, ImageUploadResponse } from "./types.js";
import { validateImageUpload } from "./validation.js";

/**
 * The meta JSON of an upload: both the first multipart part and the signed body line
 * (docs/wechatpay-cash-coupons.md#image-upload-e17).
 */
export function imageUploadMeta(filename: string, bytes: Uint8Array): string {
  return JSON.stringify({ filename, sha256: createHash("sha256").update(bytes).digest("hex") });
}

/**
 * Marketing image upload (E17), for `pattern_info.merchant_logo` / `coupon_image`.
 *
 * @example
 * const { media_url } = await client.media.uploadImage({ filename: "logo.png", bytes: await readFile("logo.png") });
 */
export class MediaApi {
  constructor(private readonly context: FavorContext) {}

  async uploadImage(request: ImageUploadRequest): Promise<ImageUploadResponse> {
    const contentType = validateImageUpload(request);
    const { data } = await this.context.http.request<ImageUploadResponse>({
      method: "POST",
      path: `${FAVOR_PATH}/media/image-upload`,
      multipart: {
        meta: imageUploadMeta(request.filename, request.bytes),
        file: { filename: request.filename, contentType, bytes: request.bytes },
      },
    });
    return data;
  }
}
