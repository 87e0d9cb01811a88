import { randomBytes } from "node:crypto";
import type { RouteTable } from "../api-handler.js";
import { badRequest } from "../http-error.js";
import { jsonBody, queryParams } from "../request.js";
import { json } from "../responses.js";
import { callbackQuery, MAX_IMAGE_BYTES, setCallbackBody, uploadImageBody, webhookTestBody } from "../schemas.js";
import type { ApiServices } from "./services.js";

export function settingsRoutes(services: ApiServices): RouteTable {
  return {
    "POST /callbacks": async (event) => {
      const body = jsonBody(event, setCallbackBody);
      const { client, secret } = await services.merchant.get();
      return json(200, await client.callbacks.set({ ...body, mchid: body.mchid ?? secret.mchid }));
    },
    "GET /callbacks": async (event) => {
      const query = queryParams(event, callbackQuery);
      const { client, secret } = await services.merchant.get();
      return json(200, await client.callbacks.get({ mchid: query.mchid ?? secret.mchid }));
    },
    "POST /webhooks/test": async (event) => {
      const body = jsonBody(event, webhookTestBody);
      const eventId = randomBytes(16).toString("hex");
      await services.forwardTest.send({ eventId, time: Date.now(), message: body?.message ?? "wxcoupon test event" });
      return json(202, { event_id: eventId, detail_type: "webhook.test" });
    },
    "POST /media/images": async (event) => {
      const body = jsonBody(event, uploadImageBody);
      const bytes = Buffer.from(body.content_base64, "base64");
      if (bytes.length === 0) throw badRequest("content_base64", "is empty");
      if (bytes.length > MAX_IMAGE_BYTES) throw badRequest("content_base64", "decodes to more than 2 MB");
      const { client } = await services.merchant.get();
      return json(200, await client.media.uploadImage({ filename: body.filename, bytes }));
    },
  };
}
