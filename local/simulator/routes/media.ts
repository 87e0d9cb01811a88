import { createHash, randomBytes } from "node:crypto";
import { type ApiRequest, type ApiResponse, ok, type SimContext } from "../context.js";
import { paramError } from "../errors.js";
import { multipartBoundary, parseMultipart } from "../multipart.js";
import type { Router } from "../router.js";
import { checkFields, parseJsonObject } from "../rules/schema.js";

export const MAX_IMAGE_BYTES = 2 * 1024 * 1024;

type ImageType = "jpg" | "bmp" | "png";

function sniff(data: Buffer): ImageType | undefined {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return "jpg";
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "png";
  if (data.length >= 2 && data[0] === 0x42 && data[1] === 0x4d) return "bmp";
  return undefined;
}

function parts(headers: ApiRequest["headers"], rawBody: Buffer) {
  const boundary = multipartBoundary(headers["content-type"]);
  return boundary ? parseMultipart(rawBody, boundary) : undefined;
}

/** The signature's body line of an upload is the meta JSON (docs/wechatpay-cash-coupons.md#image-upload-e17). */
export function uploadSignedBody(req: { headers: ApiRequest["headers"]; rawBody: Buffer }): string | undefined {
  return parts(req.headers, req.rawBody)
    ?.find((p) => p.name === "meta")
    ?.data.toString("utf8");
}

function uploadImage(req: ApiRequest, ctx: SimContext): ApiResponse {
  const form = parts(req.headers, req.rawBody);
  if (!form) throw paramError("请求须为multipart/form-data格式");
  for (const part of form)
    if (part.name !== "meta" && part.name !== "file") throw paramError("请求中含有未在API文档中定义的参数", part.name);
  const metaPart = form.find((p) => p.name === "meta");
  const filePart = form.find((p) => p.name === "file");
  if (!metaPart)
    throw paramError("输入源“/body/meta”映射到字段“媒体文件元信息”必填性规则校验失败,此字段为必填项", "meta");
  if (!filePart) throw paramError("输入源“/body/file”映射到字段“媒体文件”必填性规则校验失败,此字段为必填项", "file");
  const meta = parseJsonObject(metaPart.data.toString("utf8"));
  checkFields(meta, {
    filename: { t: "string", label: "文件名称", req: true },
    sha256: { t: "string", label: "文件摘要", req: true },
  });
  const filename = meta["filename"] as string;
  const ext = /\.(jpg|bmp|png)$/i.exec(filename)?.[1]?.toLowerCase() as ImageType | undefined;
  if (!ext) throw paramError("文件名称须以.jpg、.bmp或.png结尾", "/filename");
  const data = filePart.data;
  if (data.length === 0) throw paramError("图片不能为空", "file");
  if (data.length > MAX_IMAGE_BYTES) throw paramError("图片大小不能超过2M", "file");
  const type = sniff(data);
  if (!type) throw paramError("图片格式仅支持JPG、BMP、PNG", "file");
  if (type !== ext) throw paramError("文件名称后缀与图片格式不一致", "/filename");
  const sha256 = createHash("sha256").update(data).digest("hex");
  if (sha256 !== (meta["sha256"] as string).toLowerCase()) throw paramError("文件摘要校验失败", "/sha256");
  const mediaUrl = `https://wxpaylogo.qpic.cn/wxpaylogo/${randomBytes(18).toString("base64url")}/0`;
  ctx.store.record({
    k: "image",
    v: {
      media_url: mediaUrl,
      mchid: req.caller.mchid,
      filename,
      sha256,
      size: data.length,
      upload_time: ctx.clock.now(),
    },
  });
  return ok({ media_url: mediaUrl });
}

export function registerMediaRoutes(router: Router): void {
  router.add(
    "POST",
    "/v3/marketing/favor/media/image-upload",
    { name: "image-upload", mutates: true, signedBody: uploadSignedBody },
    uploadImage,
  );
}
